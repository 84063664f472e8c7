-- name: trust_policy_changes
-- description: Role trust-policy changes (UpdateAssumeRolePolicy, CreateRole with a trust policy)
--   with the new policy document: who may now assume what.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
SELECT DISTINCT eventtime, recipientaccountid AS account, eventname,
       json_get_str(requestparameters, 'roleName') AS role_name,
       coalesce(nullif(useridentity.arn, ''), useridentity.type) AS who,
       json_get_str(requestparameters, 'policyDocument') AS policy_document,
       json_get_str(requestparameters, 'assumeRolePolicyDocument') AS assume_role_policy_document,
       errorcode, eventid
FROM events
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname IN ('UpdateAssumeRolePolicy', 'CreateRole')
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
ORDER BY eventtime, eventid
