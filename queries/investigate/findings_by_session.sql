-- name: findings_by_session
-- description: The findings of one session, most severe first.
-- param: session_id text  the session id
-- requires: findings
SELECT rule_id, severity, eventtime, eventid, summary
FROM findings
WHERE session_id = $session_id
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                       WHEN 'low' THEN 3 ELSE 4 END,
         eventtime, rule_id, eventid
