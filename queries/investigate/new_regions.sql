-- name: new_regions
-- description: Regions a session acted in that its principal had not used in the lookback_days
--   days before the session started.
-- param: session_id text           the session id
-- param: lookback_days int = 30    days of history to compare with
-- requires: sessions
SELECT u.awsregion, u.first_used, u.calls
FROM (
  SELECT e.awsregion, min(e.eventtime) AS first_used, count(*) AS calls
  FROM session_events e
  WHERE e.session_id = $session_id
  GROUP BY e.awsregion
) u
WHERE u.awsregion NOT IN (
  SELECT ev.awsregion
  FROM events ev
  JOIN sessions s ON s.session_id = $session_id
  WHERE (ev.useridentity.sessioncontext.sessionissuer.arn = s.principal_arn
         OR ev.useridentity.arn = s.principal_arn)
    AND ev.eventtime < s.start
    AND to_unixtime(ev.eventtime) >= to_unixtime(s.start) - $lookback_days * 86400
    AND ev.awsregion IS NOT NULL)
ORDER BY u.first_used
