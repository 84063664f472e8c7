-- name: root_activity
-- description: Everything done as root (console, root keys, sts:AssumeRoot sessions) in a window,
--   optionally in one account.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
-- param: account text = null    only this account
SELECT DISTINCT eventtime, recipientaccountid AS account, eventsource, eventname, awsregion,
       sourceipaddress, errorcode, nullif(useridentity.accesskeyid, '') AS access_key_id,
       useridentity.sessioncontext.attributes.mfaauthenticated AS mfa, eventid
FROM events
WHERE useridentity.type = 'Root'
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
  AND ($account IS NULL OR recipientaccountid = $account)
ORDER BY eventtime, eventid
