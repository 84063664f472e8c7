-- name: access_key_activity
-- description: Every call made with one access key (temporary ASIA… or long-term AKIA…), and the
--   call that issued it when it is in the data.
-- param: access_key_id text  the access key id
SELECT DISTINCT eventtime, recipientaccountid AS account, eventsource, eventname, awsregion,
       sourceipaddress, errorcode,
       CASE WHEN json_get_str(responseelements, 'credentials', 'accessKeyId') = $access_key_id
            THEN 'issued' ELSE 'used' END AS relation,
       eventid
FROM events
WHERE useridentity.accesskeyid = $access_key_id
   OR (eventsource = 'sts.amazonaws.com'
       AND json_get_str(responseelements, 'credentials', 'accessKeyId') = $access_key_id)
ORDER BY eventtime, eventid
