-- name: BG002
-- description: Action after the session's TTL deadline (start + ttl; for a chained session its
--   root session's). One row per offending distinct event.
-- requires: sessions
SELECT 'BG002' AS rule_id,
       'high' AS severity,
       e.session_id,
       e.eventid,
       e.eventtime,
       e.account,
       concat(e.eventsource, ' ', e.eventname, ' at ', CAST(e.eventtime AS VARCHAR),
              ', after the TTL deadline ', CAST(s.ttl_deadline AS VARCHAR)) AS summary
FROM session_events e
JOIN sessions s ON s.session_id = e.session_id
WHERE e.after_ttl
