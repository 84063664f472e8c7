-- name: principal_activity
-- description: What principals matching an ARN glob did in a window: calls per API and account.
--   Matches the caller ARN and, for role sessions, the role ARN.
-- param: principal text        ARN glob (e.g. arn:aws:iam::*:role/BreakGlass*)
-- param: from timestamp = null window start
-- param: to timestamp = null   window end
SELECT recipientaccountid AS account, eventsource, eventname, count(DISTINCT eventid) AS calls,
       sum(CASE WHEN errorcode IS NOT NULL THEN 1 ELSE 0 END) AS failed,
       min(eventtime) AS first_seen, max(eventtime) AS last_seen
FROM events
WHERE (arn_glob(coalesce(useridentity.arn, ''), $principal)
       OR arn_glob(coalesce(useridentity.sessioncontext.sessionissuer.arn, ''), $principal))
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
GROUP BY 1, 2, 3
ORDER BY calls DESC, account, eventsource, eventname
