-- name: session_chain
-- description: The whole chain a session belongs to: its root break-glass session and every role
--   assumed from it, at any depth and in any account.
-- param: session_id text  any session of the chain
-- requires: sessions
SELECT s.depth, s.kind, s.account, s.principal_arn, s.actor, s.start, s.events,
       s.after_ttl, s.without_mfa, s.parent_session_id, s.session_id
FROM sessions s
WHERE s.root_session_id = (SELECT root_session_id FROM sessions WHERE session_id = $session_id)
ORDER BY s.depth, s.start, s.session_id
