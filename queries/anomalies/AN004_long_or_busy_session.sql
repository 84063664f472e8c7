-- name: AN004
-- description: Anomaly: a session much longer, or with many more write actions, than its
--   principal's sessions before the window: beyond the median plus 3 times the median absolute
--   deviation (MAD, at least 10 minutes or 2 writes, so a perfectly regular history does not
--   flag every small excess). Needs at least 5 earlier sessions of the principal.
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH m AS (
  SELECT principal_arn,
         CAST(date_part('epoch', "end") - date_part('epoch', start) AS DOUBLE) AS secs,
         CAST(writes AS DOUBLE) AS writes
  FROM sessions
  WHERE start < $from
),
med AS (
  SELECT principal_arn, count(*) AS n, median(secs) AS secs_med, median(writes) AS writes_med
  FROM m GROUP BY principal_arn HAVING count(*) >= 5
),
mad AS (
  SELECT m.principal_arn,
         median(abs(m.secs - d.secs_med)) AS secs_mad,
         median(abs(m.writes - d.writes_med)) AS writes_mad
  FROM m JOIN med d ON d.principal_arn = m.principal_arn
  GROUP BY m.principal_arn
),
base AS (
  SELECT d.principal_arn, d.n,
         d.secs_med + 3 * greatest(a.secs_mad, 600.0) AS secs_max,
         d.writes_med + 3 * greatest(a.writes_mad, 2.0) AS writes_max
  FROM med d JOIN mad a ON a.principal_arn = d.principal_arn
),
cur AS (
  SELECT session_id, entry_event_id, start, account, principal_arn,
         CAST(date_part('epoch', "end") - date_part('epoch', start) AS DOUBLE) AS secs,
         CAST(writes AS DOUBLE) AS writes
  FROM sessions
  WHERE start >= $from AND ($to IS NULL OR start <= $to)
)
SELECT 'AN004' AS rule_id,
       'medium' AS severity,
       c.session_id,
       c.entry_event_id AS eventid,
       c.start AS eventtime,
       c.account,
       concat('session of ', c.principal_arn, ': ',
              CASE WHEN c.secs > b.secs_max
                   THEN concat(CAST(CAST(c.secs / 60 AS BIGINT) AS VARCHAR), ' min long, baseline at most ',
                               CAST(CAST(b.secs_max / 60 AS BIGINT) AS VARCHAR), ' min')
                   ELSE '' END,
              CASE WHEN c.secs > b.secs_max AND c.writes > b.writes_max THEN '; ' ELSE '' END,
              CASE WHEN c.writes > b.writes_max
                   THEN concat(CAST(CAST(c.writes AS BIGINT) AS VARCHAR), ' writes, baseline at most ',
                               CAST(CAST(b.writes_max AS BIGINT) AS VARCHAR))
                   ELSE '' END,
              ' (median + 3 MAD over its ', CAST(b.n AS VARCHAR), ' earlier sessions)') AS summary
FROM cur c
JOIN base b ON b.principal_arn = c.principal_arn
WHERE c.secs > b.secs_max OR c.writes > b.writes_max
