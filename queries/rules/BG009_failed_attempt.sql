-- name: BG009
-- description: Failed break-glass sign-in (console login of a break-glass user, or of root) or
--   failed assumption of a break-glass role (or AssumeRoot). One row per attempt.
-- requires: sessions
SELECT 'BG009' AS rule_id,
       'medium' AS severity,
       CAST(NULL AS VARCHAR) AS session_id,
       g.eventid,
       g.eventtime,
       g.account,
       concat('failed console login of ', coalesce(g.arn, g.username, 'unknown'), ' from ',
              coalesce(g.sourceipaddress, 'unknown'),
              coalesce(concat(': ', g.errormessage), '')) AS summary
FROM tg_signins g
CROSS JOIN bg_policy p
WHERE g.eventname = 'ConsoleLogin'
  AND NOT g.success
  AND ((g.itype = 'Root' AND p.root)
       OR (g.itype = 'IAMUser' AND EXISTS (
             SELECT 1 FROM bg_users u
             WHERE arn_glob(coalesce(g.arn, concat('arn:aws:iam::', g.account, ':user/', g.username)),
                            u.pattern))))
UNION ALL
SELECT 'BG009', 'medium', CAST(NULL AS VARCHAR), t.eventid, t.eventtime, t.account,
       concat('failed ', t.eventname, ' of ', coalesce(t.principal_arn, 'unknown'), ' by ',
              coalesce(t.caller_arn, t.caller_type, 'unknown'), ': ', t.errorcode)
FROM tg_sts t
CROSS JOIN bg_policy p
WHERE t.errorcode IS NOT NULL
  AND ((t.eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity')
        AND EXISTS (SELECT 1 FROM bg_roles r WHERE arn_glob(t.principal_arn, r.pattern)))
       OR (t.eventname = 'AssumeRoot' AND p.root))
