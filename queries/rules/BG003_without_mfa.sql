-- name: BG003
-- description: Action without MFA: the session's MFA state is not MFA (Identity Center: the
--   sign-in's CredentialType; chained: the root session's), or for role, user and root sessions
--   the event's mfaauthenticated is not 'true'. One row per offending distinct event.
-- requires: sessions
SELECT 'BG003' AS rule_id,
       'high' AS severity,
       session_id,
       eventid,
       eventtime,
       account,
       concat(eventsource, ' ', eventname, ' without MFA (', kind, ' session)') AS summary
FROM session_events
WHERE without_mfa
