-- name: AN001
-- description: Anomaly: the first break-glass session of a principal never seen in a break-glass
--   session before the window (baseline: every session of the lake's history before it). One row,
--   for the principal's first session in the window; nothing when there is no history at all.
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH hist AS (SELECT principal_arn FROM sessions WHERE start < $from),
cur AS (
  SELECT session_id, entry_event_id, start, account, principal_arn,
         row_number() OVER (PARTITION BY principal_arn ORDER BY start, session_id) AS nth
  FROM sessions
  WHERE start >= $from AND ($to IS NULL OR start <= $to)
),
seen AS (SELECT DISTINCT principal_arn FROM hist)
SELECT 'AN001' AS rule_id,
       'medium' AS severity,
       c.session_id,
       c.entry_event_id AS eventid,
       c.start AS eventtime,
       c.account,
       concat('first break-glass session of ', c.principal_arn, ': it has none among the ',
              CAST((SELECT count(*) FROM hist) AS VARCHAR), ' sessions before the window') AS summary
FROM cur c
LEFT JOIN seen s ON s.principal_arn = c.principal_arn
WHERE s.principal_arn IS NULL AND c.nth = 1 AND (SELECT count(*) FROM hist) > 0
