-- name: iam_changes
-- description: Successful IAM changes (users, keys, login profiles, roles, policies, MFA, trust
--   policies) in a window, by anyone, optionally in one account.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
-- param: account text = null    only this account
SELECT DISTINCT eventtime, recipientaccountid AS account, eventname,
       coalesce(nullif(useridentity.arn, ''), useridentity.type) AS who,
       coalesce(json_get_str(requestparameters, 'userName'), json_get_str(requestparameters, 'roleName'),
                json_get_str(requestparameters, 'groupName'), json_get_str(requestparameters, 'policyArn'),
                json_get_str(requestparameters, 'policyName')) AS target,
       sourceipaddress, eventid
FROM events
WHERE eventsource = 'iam.amazonaws.com'
  AND errorcode IS NULL
  AND (readonly = false OR (readonly IS NULL AND NOT (eventname LIKE 'Get%' OR eventname LIKE 'List%')))
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
  AND ($account IS NULL OR recipientaccountid = $account)
ORDER BY eventtime, eventid
