-- name: denied_calls
-- description: Calls refused for lack of permission (AccessDenied, UnauthorizedOperation, …),
--   grouped by principal and API, optionally for principals matching an ARN glob.
-- param: from timestamp = null   window start
-- param: to timestamp = null     window end
-- param: principal text = null   ARN glob of the caller (e.g. arn:aws:sts::*:assumed-role/BreakGlass/*)
SELECT coalesce(nullif(useridentity.arn, ''), useridentity.type) AS principal,
       eventsource, eventname, errorcode, count(DISTINCT eventid) AS calls,
       min(eventtime) AS first_seen, max(eventtime) AS last_seen
FROM events
WHERE (errorcode LIKE '%AccessDenied%' OR errorcode LIKE '%Unauthorized%'
       OR errorcode LIKE '%Forbidden%')
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
  AND ($principal IS NULL OR arn_glob(coalesce(useridentity.arn, ''), $principal))
GROUP BY 1, 2, 3, 4
ORDER BY calls DESC, principal, eventsource, eventname
