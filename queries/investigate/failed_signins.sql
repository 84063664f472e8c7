-- name: failed_signins
-- description: Failed console sign-ins and failed role assumptions, by anyone, in a window (a
--   burst before a break-glass success is worth a look).
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
SELECT DISTINCT eventtime, recipientaccountid AS account, eventname,
       coalesce(nullif(useridentity.arn, ''), useridentity.username, useridentity.type) AS who,
       coalesce(json_get_str(requestparameters, 'roleArn'), '') AS role_arn,
       coalesce(errorcode, json_get_str(responseelements, 'ConsoleLogin')) AS result,
       errormessage, sourceipaddress, eventid
FROM events
WHERE ((eventsource = 'signin.amazonaws.com' AND eventname = 'ConsoleLogin'
        AND (errorcode IS NOT NULL
             OR lower(coalesce(json_get_str(responseelements, 'ConsoleLogin'), '')) = 'failure'))
    OR (eventsource = 'sts.amazonaws.com' AND eventname LIKE 'AssumeRole%' AND errorcode IS NOT NULL))
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
ORDER BY eventtime, eventid
