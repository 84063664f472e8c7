-- name: BG013
-- description: Action after the session was revoked (an AWSRevokeOlderSessions policy on its
--   role, the user's password or key changed) or after its approval window closed (not_after):
--   the emergency was declared over but the credentials kept working. One row per distinct event.
-- requires: sessions
SELECT 'BG013' AS rule_id,
       'high' AS severity,
       e.session_id,
       e.eventid,
       e.eventtime,
       e.account,
       concat(e.eventsource, ' ', e.eventname, ' at ', CAST(e.eventtime AS VARCHAR),
              CASE WHEN e.after_revocation
                   THEN concat(', after the session was revoked at ', CAST(s.revoked_at AS VARCHAR))
                   ELSE concat(', after approval ', coalesce(s.approval, ''), ' closed') END)
         AS summary
FROM session_events e
JOIN sessions s ON s.session_id = e.session_id
WHERE e.after_revocation OR e.after_approval
