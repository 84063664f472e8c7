-- name: AN009
-- description: Anomaly: a spike of failed break-glass attempts (BG009's failed sign-ins and role
--   assumptions). The window is cut into 24-hour periods from its start; a period is a spike when
--   its count exceeds the median plus 3 times the median absolute deviation (MAD, at least 1, so
--   a history without failures does not flag one or two mistyped passwords) of the 24-hour
--   periods before the window, counted back to the first break-glass session or attempt in the
--   lake, empty periods included. Needs at least 7 earlier periods. One row per spike, at its
--   first attempt.
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: findings
WITH att AS (
  SELECT eventid, eventtime, account,
         CAST(floor((date_part('epoch', eventtime) - date_part('epoch', $from)) / 86400) AS BIGINT)
           AS period
  FROM findings
  WHERE rule_id = 'BG009' AND eventtime IS NOT NULL
),
first_seen AS (
  SELECT min(t) AS t FROM (
    SELECT min(start) AS t FROM sessions
    UNION ALL
    SELECT min(eventtime) FROM att
  ) x
),
hist_n AS (
  SELECT CAST(floor((date_part('epoch', $from) - date_part('epoch', f.t)) / 86400) AS BIGINT) AS n
  FROM first_seen f
  WHERE f.t < $from
),
periods AS (
  SELECT -1 - CAST(unnest(range(0, h.n)) AS BIGINT) AS period FROM hist_n h
),
hist AS (
  SELECT p.period, CAST(count(a.eventid) AS DOUBLE) AS c
  FROM periods p
  LEFT JOIN att a ON a.period = p.period
  GROUP BY p.period
),
med AS (SELECT count(*) AS n, median(c) AS m FROM hist),
mad AS (SELECT median(abs(h.c - d.m)) AS d FROM hist h CROSS JOIN med d),
cur AS (
  SELECT a.period, count(*) AS c, min(a.eventtime) AS first_t,
         first_value(a.eventid ORDER BY a.eventtime, a.eventid) AS first_event,
         count(DISTINCT a.account) AS accounts,
         CASE WHEN count(DISTINCT a.account) = 1 THEN min(a.account) END AS account
  FROM att a
  WHERE a.period >= 0 AND ($to IS NULL OR a.eventtime <= $to)
  GROUP BY a.period
)
SELECT 'AN009' AS rule_id,
       'high' AS severity,
       CAST(NULL AS VARCHAR) AS session_id,
       c.first_event AS eventid,
       c.first_t AS eventtime,
       c.account,
       concat(CAST(c.c AS VARCHAR), ' failed break-glass attempts in the 24 h from ',
              CAST(to_timestamp_seconds(CAST(date_part('epoch', $from) + 86400 * c.period AS BIGINT))
                   AS VARCHAR),
              'Z in ', CAST(c.accounts AS VARCHAR), ' account(s); baseline median ',
              CAST(d.m AS VARCHAR), ', MAD ', CAST(a.d AS VARCHAR), ' per 24 h over ',
              CAST(d.n AS VARCHAR), ' earlier periods, threshold ',
              CAST(d.m + 3 * greatest(a.d, 1.0) AS VARCHAR)) AS summary
FROM cur c
CROSS JOIN med d
CROSS JOIN mad a
WHERE d.n >= 7 AND CAST(c.c AS DOUBLE) > d.m + 3 * greatest(a.d, 1.0)
