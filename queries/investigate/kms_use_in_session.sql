-- name: kms_use_in_session
-- description: KMS calls made during one session (Decrypt, GenerateDataKey, key policy and
--   deletion changes), with the key each one used.
-- param: session_id text  the session id
-- requires: sessions
SELECT DISTINCT a.eventtime, a.eventname,
       coalesce(json_get_str(ev.requestparameters, 'keyId'),
                json_get_str(ev.responseelements, 'keyId')) AS key_id,
       a.errorcode, a.sourceipaddress, a.eventid
FROM session_events a
JOIN events ev ON ev.eventid = a.eventid
WHERE a.session_id = $session_id
  AND a.eventsource = 'kms.amazonaws.com'
  AND ev.eventsource = 'kms.amazonaws.com'
ORDER BY a.eventtime, a.eventid
