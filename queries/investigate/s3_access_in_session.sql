-- name: s3_access_in_session
-- description: S3 calls made during one session (buckets and objects touched, data events
--   included when the trail records them).
-- param: session_id text  the session id
-- requires: sessions
SELECT DISTINCT a.eventtime, a.eventname, json_get_str(ev.requestparameters, 'bucketName') AS bucket,
       json_get_str(ev.requestparameters, 'key') AS object_key, a.errorcode, a.sourceipaddress,
       a.eventid
FROM session_events a
JOIN events ev ON ev.eventid = a.eventid
WHERE a.session_id = $session_id
  AND a.eventsource = 's3.amazonaws.com'
  AND ev.eventsource = 's3.amazonaws.com'
ORDER BY a.eventtime, a.eventid
