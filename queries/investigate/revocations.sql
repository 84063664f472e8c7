-- name: revocations
-- description: Session revocations and credential changes: AWSRevokeOlderSessions policies put
--   on roles, password changes, access keys deactivated or deleted, MFA devices removed.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
-- requires: sessions
SELECT eventtime, account, eventname, coalesce(role_name, target_user, access_key, serial_number) AS target,
       coalesce(caller_arn, caller_type) AS who, token_issue_time, errorcode, eventid
FROM tg_iam
WHERE ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
ORDER BY eventtime, eventid
