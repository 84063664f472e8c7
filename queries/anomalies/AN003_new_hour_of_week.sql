-- name: AN003
-- description: Anomaly: a session starting at an hour of the week (UTC, Sunday 0h = 0 … 167) at
--   which its principal never started one before the window. Needs at least 5 earlier sessions
--   of the principal (fewer say nothing about its habits).
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH hist AS (
  SELECT principal_arn,
         CAST(date_part('dow', start) AS BIGINT) * 24 + CAST(date_part('hour', start) AS BIGINT) AS how
  FROM sessions
  WHERE start < $from
),
enough AS (SELECT principal_arn, count(*) AS n FROM hist GROUP BY principal_arn HAVING count(*) >= 5),
cur AS (
  SELECT session_id, entry_event_id, start, account, principal_arn,
         CAST(date_part('dow', start) AS BIGINT) * 24 + CAST(date_part('hour', start) AS BIGINT) AS how
  FROM sessions
  WHERE start >= $from AND ($to IS NULL OR start <= $to)
),
known AS (SELECT DISTINCT principal_arn, how FROM hist)
SELECT 'AN003' AS rule_id,
       'low' AS severity,
       c.session_id,
       c.entry_event_id AS eventid,
       c.start AS eventtime,
       c.account,
       concat('session of ', c.principal_arn, ' at hour ', CAST(c.how AS VARCHAR),
              ' of the week, never used in its ', CAST(e.n AS VARCHAR), ' earlier sessions') AS summary
FROM cur c
JOIN enough e ON e.principal_arn = c.principal_arn
LEFT JOIN known k ON k.principal_arn = c.principal_arn AND k.how = c.how
WHERE k.how IS NULL
