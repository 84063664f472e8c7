-- name: sessions_by_account
-- description: Break-glass use per account and kind in a window: sessions, actions, and how many
--   broke the TTL or MFA rules.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
-- requires: sessions
SELECT account, kind, count(*) AS sessions, sum(events) AS actions, sum(writes) AS writes,
       sum(CASE WHEN after_ttl > 0 THEN 1 ELSE 0 END) AS sessions_past_ttl,
       sum(CASE WHEN without_mfa > 0 THEN 1 ELSE 0 END) AS sessions_without_mfa,
       min(start) AS first_start, max(start) AS last_start
FROM sessions
WHERE ($from IS NULL OR start >= $from)
  AND ($to IS NULL OR start <= $to)
GROUP BY account, kind
ORDER BY account, kind
