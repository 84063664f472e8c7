-- name: AN005
-- description: Anomaly: a session in the window used a region (rule id AN005), user agent
--   (AN006) or source network (AN007: IPv4 /24; IPv6 /48 by its first three groups as written;
--   service names such as ec2.amazonaws.com are not networks) that its principal's sessions
--   before the window never used. One row per session and kind, naming every new value. Needs
--   at least 5 earlier sessions of the principal. One query for the three kinds, so the session
--   events are read once.
-- param: from timestamp              the window's start: the baseline is everything before it
-- param: to timestamp = null         the window's end
-- requires: sessions
WITH ev AS (
  SELECT s.session_id, s.principal_arn, s.start, e.awsregion, e.useragent, e.sourceipaddress
  FROM session_events e
  JOIN sessions s ON s.session_id = e.session_id
  WHERE s.start < $from OR (s.start >= $from AND ($to IS NULL OR s.start <= $to))
),
used AS (
  SELECT session_id, principal_arn, start, 'AN005' AS rule_id, 'region' AS what, awsregion AS v FROM ev
  UNION ALL
  SELECT session_id, principal_arn, start, 'AN006', 'user agent', useragent FROM ev
  UNION ALL
  SELECT session_id, principal_arn, start, 'AN007', 'network',
         CASE WHEN regexp_like(sourceipaddress, '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
                THEN regexp_replace(sourceipaddress, '\.[0-9]+$', '.0/24')
              WHEN strpos(sourceipaddress, ':') > 0
                THEN concat(array_to_string(array_slice(string_to_array(sourceipaddress, ':'), 1, 3), ':'), '::/48')
         END
  FROM ev
),
hist AS (SELECT DISTINCT principal_arn, rule_id, v FROM used WHERE start < $from AND v IS NOT NULL),
enough AS (
  SELECT principal_arn, count(*) AS n FROM sessions WHERE start < $from
  GROUP BY principal_arn HAVING count(*) >= 5
),
new AS (
  SELECT DISTINCT u.session_id, u.rule_id, u.what, u.v
  FROM used u
  JOIN enough e ON e.principal_arn = u.principal_arn
  LEFT JOIN hist h ON h.principal_arn = u.principal_arn AND h.rule_id = u.rule_id AND h.v = u.v
  WHERE u.start >= $from AND u.v IS NOT NULL AND h.v IS NULL
),
per AS (
  SELECT session_id, rule_id, what, array_to_string(array_sort(array_agg(v)), ', ') AS vs
  FROM new GROUP BY session_id, rule_id, what
)
SELECT p.rule_id,
       'low' AS severity,
       s.session_id,
       s.entry_event_id AS eventid,
       s.start AS eventtime,
       s.account,
       concat('session of ', s.principal_arn, ' from new ', p.what, ' ', p.vs, ': none of its ',
              CAST(e.n AS VARCHAR), ' earlier sessions used it') AS summary
FROM per p
JOIN sessions s ON s.session_id = p.session_id
JOIN enough e ON e.principal_arn = s.principal_arn
