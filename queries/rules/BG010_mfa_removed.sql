-- name: BG010
-- description: MFA device deactivated or deleted for a break-glass principal (a break-glass IAM
--   user, or root when root sessions are break-glass), by anyone. One row per distinct event.
-- requires: sessions
SELECT 'BG010' AS rule_id,
       'high' AS severity,
       se.session_id,
       i.eventid,
       i.eventtime,
       i.account,
       concat(i.eventname, ' for ', i.target, ' by ', coalesce(i.caller_arn, i.caller_type, 'unknown'))
         AS summary
FROM (
  SELECT eventid, eventtime, account, eventname, caller_arn, caller_type,
         CASE WHEN upper(coalesce(target_user, '')) = 'AWS ROOT USER'
                   OR (target_user IS NULL AND caller_type = 'Root')
                   OR coalesce(serial_number, '') LIKE '%:mfa/root-account-mfa-device'
              THEN concat('arn:aws:iam::', account, ':root')
              ELSE concat('arn:aws:iam::', account, ':user/',
                          coalesce(target_user, regexp_replace(coalesce(serial_number, ''), '^.*:mfa/', '')))
         END AS target
  FROM tg_iam
  WHERE errorcode IS NULL AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice')
) i
CROSS JOIN bg_policy p
LEFT JOIN session_events se ON se.eventid = i.eventid
WHERE (i.target LIKE '%:root' AND p.root)
   OR EXISTS (SELECT 1 FROM bg_users u WHERE arn_glob(i.target, u.pattern))
