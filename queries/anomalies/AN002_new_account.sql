-- name: AN002
-- description: Anomaly: the first break-glass session in an account that had none before the
--   window (baseline: the lake's history before it). One row, for the account's first session
--   in the window; nothing when there is no history at all.
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH hist AS (SELECT account FROM sessions WHERE start < $from),
cur AS (
  SELECT session_id, entry_event_id, start, account,
         row_number() OVER (PARTITION BY account ORDER BY start, session_id) AS nth
  FROM sessions
  WHERE start >= $from AND ($to IS NULL OR start <= $to)
),
seen AS (SELECT DISTINCT account FROM hist)
SELECT 'AN002' AS rule_id,
       'medium' AS severity,
       c.session_id,
       c.entry_event_id AS eventid,
       c.start AS eventtime,
       c.account,
       concat('first break-glass session in account ', c.account, ': it has none among the ',
              CAST((SELECT count(*) FROM hist) AS VARCHAR), ' sessions before the window') AS summary
FROM cur c
LEFT JOIN seen s ON s.account = c.account
WHERE s.account IS NULL AND c.nth = 1 AND (SELECT count(*) FROM hist) > 0
