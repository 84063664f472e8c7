-- name: breakglass_this_week
-- description: Who broke the glass: every break-glass session that started in a window (default:
--   the last 7 days of data), with its actor, source and counts.
-- param: from timestamp = null  window start (default: 7 days before the newest event)
-- param: to timestamp = null    window end (default: no end)
-- requires: sessions
SELECT s.start, s.kind, s.account, s.actor, s.principal_arn, s.source_ips, s.events, s.writes,
       s.errors, s.mfa_at_entry, s.after_ttl, s.without_mfa, s.approval, s.depth, s.session_id
FROM sessions s
CROSS JOIN (SELECT max(eventtime) AS newest FROM events) d
WHERE s.start >= coalesce($from, d.newest - INTERVAL '7 days')
  AND ($to IS NULL OR s.start <= $to)
ORDER BY s.start, s.session_id
