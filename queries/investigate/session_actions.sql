-- name: session_actions
-- description: Every action of one break-glass session, in time order, with the flags the rules
--   use (after TTL, without MFA, after revocation).
-- param: session_id text  the session id (see `trailglass sessions`)
-- requires: sessions
SELECT eventtime, eventsource, eventname, awsregion, sourceipaddress, useragent, errorcode,
       is_write, after_ttl, without_mfa, after_revocation, access_key_id, eventid
FROM session_events
WHERE session_id = $session_id
ORDER BY eventtime, eventid
