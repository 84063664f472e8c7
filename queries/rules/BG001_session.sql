-- name: BG001
-- description: A break-glass session happened: every use must be seen. One row per session,
--   chained sessions included.
-- requires: sessions
SELECT 'BG001' AS rule_id,
       'info' AS severity,
       session_id,
       entry_event_id AS eventid,
       start AS eventtime,
       account,
       concat(kind, ' session of ', principal_arn, ' by ', coalesce(actor, 'unknown'),
              ': ', CAST(events AS VARCHAR), ' actions',
              CASE WHEN depth > 0 THEN concat(', chained at depth ', CAST(depth AS VARCHAR)) ELSE '' END,
              CASE WHEN entry_event_id IS NULL THEN ', entry event not in the data' ELSE '' END)
         AS summary
FROM sessions
