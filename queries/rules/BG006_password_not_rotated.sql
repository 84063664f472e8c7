-- name: BG006
-- description: Break-glass user or root password not changed within rotate_within after a
--   console session ended. Raised only once end + rotate_within lies inside the data (until then
--   the session is "rotation pending"). One row per session.
-- requires: sessions
SELECT 'BG006' AS rule_id,
       'medium' AS severity,
       s.session_id,
       s.entry_event_id AS eventid,
       s."end" AS eventtime,
       s.account,
       concat('password of ', s.principal_arn, ' not changed within ',
              CAST(p.rotate_within_seconds / 3600 AS VARCHAR), 'h after the session ended at ',
              CAST(s."end" AS VARCHAR)) AS summary
FROM sessions s
CROSS JOIN bg_policy p
CROSS JOIN (SELECT max(eventtime) AS data_end FROM events) d
WHERE s.kind IN ('user', 'root')
  AND s.depth = 0
  AND NOT s.long_term
  AND NOT EXISTS (SELECT 1 FROM tg_edges e WHERE e.eventid = s.entry_event_id)
  AND s."end" + p.rotate_within <= d.data_end
  AND NOT EXISTS (
    SELECT 1 FROM tg_iam i
    WHERE i.errorcode IS NULL
      AND i.account = s.account
      AND i.eventtime > s."end"
      AND i.eventtime <= s."end" + p.rotate_within
      AND ((s.kind = 'root' AND i.eventname = 'PasswordUpdated')
           OR (s.kind = 'user' AND i.eventname = 'ChangePassword'
               AND i.caller_arn = s.principal_arn)
           OR (s.kind = 'user' AND i.eventname IN ('UpdateLoginProfile', 'CreateLoginProfile', 'DeleteLoginProfile')
               AND i.target_user = regexp_replace(s.principal_arn, '^.*/', ''))))
