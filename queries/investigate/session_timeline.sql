-- name: session_timeline
-- description: One session's timeline: the entry event that started it (AssumeRole…, sign-in,
--   AssumeRoot), then every action in time order with the rules' flags.
-- param: session_id text  the session id (see `trailglass sessions`)
-- requires: sessions
SELECT t.eventtime, t.step, t.eventsource, t.eventname, t.awsregion, t.sourceipaddress,
       t.errorcode, t.flags, t.eventid
FROM (
  -- tg_sts keeps one row per issued key (the caller's copy of a cross-account call); the
  -- session's entry is the copy in the credential's own account, `entry_eventid`.
  SELECT e.eventtime, 'entry' AS step, 'sts.amazonaws.com' AS eventsource, e.eventname,
         CAST(NULL AS VARCHAR) AS awsregion, e.sourceipaddress, e.errorcode,
         '' AS flags, e.entry_eventid AS eventid
  FROM tg_sts e JOIN sessions s ON s.entry_event_id = e.entry_eventid
  WHERE s.session_id = $session_id
  UNION ALL
  SELECT g.eventtime, 'entry', 'signin.amazonaws.com', g.eventname, CAST(NULL AS VARCHAR),
         g.sourceipaddress, g.errorcode,
         CASE WHEN lower(coalesce(g.mfa_used, '')) = 'no' THEN 'no-mfa' ELSE '' END, g.eventid
  FROM tg_signins g JOIN sessions s ON s.entry_event_id = g.eventid
  WHERE s.session_id = $session_id
  UNION ALL
  SELECT a.eventtime, 'action', a.eventsource, a.eventname, a.awsregion, a.sourceipaddress,
         a.errorcode,
         concat_ws(' ', CASE WHEN a.after_ttl THEN 'after-ttl' END,
                        CASE WHEN a.without_mfa THEN 'no-mfa' END,
                        CASE WHEN a.after_revocation THEN 'after-revocation' END,
                        CASE WHEN a.after_approval THEN 'after-approval' END,
                        CASE WHEN a.is_write THEN 'write' END),
         a.eventid
  FROM session_events a
  WHERE a.session_id = $session_id
) t
ORDER BY t.eventtime, t.step DESC, t.eventid
