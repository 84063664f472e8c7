-- name: console_logins_without_mfa
-- description: Successful console sign-ins of any IAM user or root without MFA
--   (additionalEventData.MFAUsed = no), not only break-glass ones.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
SELECT DISTINCT eventtime, recipientaccountid AS account, useridentity.type AS identity_type,
       coalesce(nullif(useridentity.arn, ''), useridentity.username) AS principal,
       sourceipaddress, useragent, eventid
FROM events
WHERE eventsource = 'signin.amazonaws.com' AND eventname = 'ConsoleLogin'
  AND lower(coalesce(json_get_str(responseelements, 'ConsoleLogin'), '')) = 'success'
  AND lower(coalesce(json_get_str(additionaleventdata, 'MFAUsed'), '')) = 'no'
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
ORDER BY eventtime, eventid
