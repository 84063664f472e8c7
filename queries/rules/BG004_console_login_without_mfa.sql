-- name: BG004
-- description: Successful break-glass console login (IAM user or root) without MFA
--   (additionalEventData.MFAUsed is "no" in any case). One row per sign-in; failed logins are
--   BG009.
-- requires: sessions
SELECT 'BG004' AS rule_id,
       'high' AS severity,
       s.session_id,
       g.eventid,
       g.eventtime,
       g.account,
       concat('console login of ', coalesce(g.arn, g.username, 'unknown'), ' from ',
              coalesce(g.sourceipaddress, 'unknown'), ' without MFA') AS summary
FROM tg_signins g
JOIN sessions s ON s.entry_event_id = g.eventid
WHERE g.eventname = 'ConsoleLogin'
  AND g.success
  AND lower(coalesce(g.mfa_used, '')) = 'no'
