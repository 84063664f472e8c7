-- name: BG015
-- description: A logging blind spot during a session: in an account and region the session acted
--   in, CloudTrail's digest chain has a gap or a hole overlapping the session (logging or digest
--   delivery stopped, or a digest is gone), or a trail was stopped (StopLogging, DeleteTrail) and
--   later restarted (StartLogging, CreateTrail of the same name) across the session's span, by
--   anyone. What happened in such a span cannot be proven from the logs. One row per session and
--   blind spot.
-- requires: sessions
--
-- Digest gaps come from `digests` (what ingest read), so this needs no validate-logs run: per
-- chain (account, region, trail; backfill digests form their own chain and are left out), a
-- digest whose previous* fields are null after an earlier digest of its chain (CloudTrail starts
-- a new chain when logging restarts), or whose start is more than a minute after the previous
-- digest's end (a digest deleted), leaves the span from that end to its start unsigned.
-- A stop with no restart in the data is not a span here: events delivered after it show that
-- something still logged, and the stop itself during a session is BG008. A trail stop is
-- account-wide (a multi-region trail covers every region; the call is logged in its home region
-- only). UpdateTrail alone is not a gap: delivery goes on, wherever it is sent.
WITH trail_calls AS (
  SELECT coalesce(eventid, concat(_source, '#', CAST(_record AS VARCHAR))) AS eventid,
         eventtime, eventname, recipientaccountid AS account,
         regexp_replace(json_get_str(requestparameters, 'name'), '^.*:trail/', '') AS trail
  FROM events
  WHERE eventsource = 'cloudtrail.amazonaws.com'
    AND eventname IN ('StopLogging', 'DeleteTrail', 'StartLogging', 'CreateTrail')
    AND errorcode IS NULL
),
digest_rows AS (
  -- The JSON bodies stay here: the window below sorts only these narrow rows (sorting the
  -- bodies along took a batch of megabytes per partition and ran a small pool out of memory).
  SELECT account, region, digest_end_time AS d_end,
         arrow_cast(json_get_str(body, 'digestStartTime'), 'Timestamp(Microsecond, Some("UTC"))')
           AS d_start,
         json_get_str(body, 'previousDigestSignature') IS NULL AS restarted,
         regexp_replace(regexp_replace(key, '^.*/', ''), '_[0-9]{8}T[0-9]{6}Z\.json\.gz$', '')
           AS trail_file
  FROM digests
  WHERE key NOT LIKE '%backfill.json.gz'
    AND account IS NOT NULL AND region IS NOT NULL AND digest_end_time IS NOT NULL
),
chain AS (
  SELECT account, region, d_end, d_start, restarted,
         lag(d_end) OVER (PARTITION BY account, region, trail_file ORDER BY d_end) AS prev_end
  FROM digest_rows
),
spots AS (
  SELECT account, region, prev_end AS gap_from, d_start AS gap_to,
         CAST(NULL AS VARCHAR) AS eventid,
         concat('no signed CloudTrail digest in ', account, ' ', region, ' from ',
                to_char(prev_end, '%Y-%m-%dT%H:%M:%SZ'), ' to ',
                to_char(d_start, '%Y-%m-%dT%H:%M:%SZ'),
                CASE WHEN restarted THEN ' (logging or digest delivery restarted)'
                     ELSE ' (a digest of the chain is missing)' END) AS what
  FROM chain
  WHERE prev_end IS NOT NULL AND d_start IS NOT NULL
    AND (restarted OR d_start > prev_end + INTERVAL '1 minute')
  UNION ALL
  SELECT s.account, CAST(NULL AS VARCHAR), s.eventtime, min(r.eventtime), s.eventid,
         concat('trail ', s.trail, ' in ', s.account, ' stopped by ', s.eventname, ' at ',
                to_char(s.eventtime, '%Y-%m-%dT%H:%M:%SZ'), ' until ',
                to_char(min(r.eventtime), '%Y-%m-%dT%H:%M:%SZ'))
  FROM trail_calls s
  JOIN trail_calls r
    ON r.account = s.account AND r.trail = s.trail AND r.eventtime > s.eventtime
   AND r.eventname IN ('StartLogging', 'CreateTrail')
  WHERE s.eventname IN ('StopLogging', 'DeleteTrail')
  GROUP BY s.account, s.eventtime, s.eventid, s.eventname, s.trail
),
places AS (
  SELECT DISTINCT session_id, recipientaccountid AS account, awsregion AS region
  FROM session_events
)
SELECT DISTINCT 'BG015' AS rule_id,
       'high' AS severity,
       se.session_id,
       b.eventid,
       b.gap_from AS eventtime,
       b.account,
       concat(b.what, ', during a ', se.kind, ' session (', to_char(se.start, '%Y-%m-%dT%H:%M:%SZ'),
              ' to ', to_char(se."end", '%Y-%m-%dT%H:%M:%SZ'), ')') AS summary
FROM spots b
JOIN places p ON p.account = b.account AND (b.region IS NULL OR p.region = b.region)
JOIN sessions se ON se.session_id = p.session_id
WHERE b.gap_from <= se."end" AND b.gap_to >= se.start
