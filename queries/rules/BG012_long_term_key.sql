-- name: BG012
-- description: Long-term access key (AKIA…) of a break-glass user or root used. One row per
--   distinct call.
-- requires: sessions
SELECT 'BG012' AS rule_id,
       'high' AS severity,
       session_id,
       eventid,
       eventtime,
       account,
       concat(eventsource, ' ', eventname, ' with the long-term key ', coalesce(access_key_id, 'unknown'))
         AS summary
FROM session_events
WHERE long_term
