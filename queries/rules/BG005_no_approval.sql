-- name: BG005
-- description: Break-glass session with no approval covering its start (only when approvals are
--   configured). One row per session, chained sessions included: a chained session has its root
--   session's approval.
-- requires: sessions
SELECT 'BG005' AS rule_id,
       'medium' AS severity,
       s.session_id,
       s.entry_event_id AS eventid,
       s.start AS eventtime,
       s.account,
       concat(s.kind, ' session of ', s.principal_arn, ' by ', coalesce(s.actor, 'unknown'),
              ' started ', CAST(s.start AS VARCHAR), ' with no approval covering it') AS summary
FROM sessions s
CROSS JOIN bg_policy p
WHERE p.approvals_configured
  AND s.approval IS NULL
