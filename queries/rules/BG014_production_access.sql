-- name: BG014
-- description: Interactive human access to a production account ([breakglass]
--   production_accounts) by a principal that is not break-glass: a console sign-in, or an
--   AssumeRole* by a person's principal (IAM user, root, SAML / Identity Center user). One row per
--   sign-in or assumption.
-- requires: sessions
SELECT 'BG014' AS rule_id,
       'medium' AS severity,
       CAST(NULL AS VARCHAR) AS session_id,
       g.eventid,
       g.eventtime,
       g.account,
       concat('console sign-in of ', coalesce(g.arn, g.username, 'unknown'),
              ' to production account ', g.account) AS summary
FROM tg_signins g
CROSS JOIN bg_policy p
WHERE g.eventname = 'ConsoleLogin'
  AND g.success
  AND array_has(p.production_accounts, g.account)
  AND NOT (g.itype = 'Root' AND p.root)
  AND NOT (g.itype = 'IAMUser'
           AND EXISTS (SELECT 1 FROM bg_users u WHERE arn_glob(g.arn, u.pattern)))
UNION ALL
SELECT 'BG014', 'medium', CAST(NULL AS VARCHAR), e.eventid, e.eventtime, e.account,
       concat(e.eventname, ' of ', coalesce(e.principal_arn, 'unknown'), ' by ',
              coalesce(e.caller_arn, e.session_name, e.caller_type, 'unknown'),
              ' into production account ', e.account)
FROM tg_edges e
CROSS JOIN bg_policy p
WHERE e.eventname IN ('AssumeRole', 'AssumeRoleWithSAML')
  AND array_has(p.production_accounts, e.account)
  AND (e.caller_type IN ('IAMUser', 'Root', 'SAMLUser')
       OR (e.caller_type = 'AssumedRole'
           AND arn_glob(coalesce(e.caller_issuer, ''), 'arn:*:iam::*:role/*AWSReservedSSO_*')))
  AND NOT EXISTS (SELECT 1 FROM bg_roles r WHERE arn_glob(e.principal_arn, r.pattern))
  AND NOT EXISTS (SELECT 1 FROM tg_cred c WHERE c.cred_id = e.eventid)
