-- name: AN008
-- description: Anomaly: break-glass use outside any approval window. A session in the window with
--   a use (its entry event, or an action) that no approval of its principal covers (approvals.csv rows
--   whose principal glob matches the session's principal, its root session's principal or its
--   actor, with not_before <= time <= not_after). Every window of the principal counts, not only
--   the one covering the start (BG005 judges the start, BG013 the covering window's end). One row
--   per session, at its first uncovered use; only when approvals are configured.
-- param: from timestamp              the window's start
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH cur AS (
  SELECT s.session_id, s.entry_event_id, s.start, s.account, s.principal_arn,
         coalesce(s.actor, '') AS actor, coalesce(r.principal_arn, s.principal_arn) AS root_arn
  FROM sessions s
  LEFT JOIN sessions r ON r.session_id = s.root_session_id
  WHERE s.start >= $from AND ($to IS NULL OR s.start <= $to)
),
uses AS (
  -- The entry event is a use; a session without one starts at its first action, counted below.
  SELECT c.session_id, c.entry_event_id AS eventid, c.start AS t FROM cur c
  WHERE c.entry_event_id IS NOT NULL
  UNION ALL
  SELECT e.session_id, e.eventid, e.eventtime
  FROM session_events e
  JOIN cur c ON c.session_id = e.session_id
),
covered AS (
  SELECT u.session_id, u.eventid, u.t, count(a.ticket) AS windows
  FROM uses u
  JOIN cur c ON c.session_id = u.session_id
  LEFT JOIN approvals a
    ON u.t >= a.not_before AND u.t <= a.not_after
   AND (arn_glob(c.principal_arn, a.principal) OR arn_glob(c.root_arn, a.principal)
        OR arn_glob(c.actor, a.principal))
  GROUP BY u.session_id, u.eventid, u.t
),
outside AS (
  SELECT session_id,
         count(*) AS n,
         min(t) AS first_t,
         max(t) AS last_t,
         first_value(eventid ORDER BY t, eventid) AS first_event
  FROM covered
  WHERE windows = 0
  GROUP BY session_id
),
known AS (
  SELECT c.session_id, count(a.ticket) AS approvals
  FROM cur c
  LEFT JOIN approvals a
    ON arn_glob(c.principal_arn, a.principal) OR arn_glob(c.root_arn, a.principal)
       OR arn_glob(c.actor, a.principal)
  GROUP BY c.session_id
)
SELECT 'AN008' AS rule_id,
       'medium' AS severity,
       c.session_id,
       o.first_event AS eventid,
       o.first_t AS eventtime,
       c.account,
       concat('break-glass use by ', c.principal_arn, ' outside any approval window: ',
              CAST(o.n AS VARCHAR), ' use(s) from ', CAST(o.first_t AS VARCHAR), ' to ',
              CAST(o.last_t AS VARCHAR), '; ', CAST(k.approvals AS VARCHAR),
              ' approval(s) name this principal') AS summary
FROM outside o
JOIN cur c ON c.session_id = o.session_id
JOIN known k ON k.session_id = o.session_id
CROSS JOIN bg_policy p
WHERE p.approvals_configured
