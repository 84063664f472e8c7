-- name: sessions
-- description: Break-glass sessions (docs/CONTRACT.md §6): role, Identity Center, IAM user
--   console, root and chained role sessions, one row each; and session_events, one row per
--   distinct action of a session, which every rule in rules/ reads.
-- requires:
--
-- How it works. Each `-- step: NAME` below is one plain SELECT whose result trailglass keeps as a
-- small in-memory table NAME for the later steps (and for the rules and investigation queries):
--   tg_calls     the few calls the next steps read (STS issuing, sign-ins, IAM credential
--                changes), in one pass over `events`
--   tg_sts       every STS credential-issuing call, one row per issued key (failures included)
--   tg_edges     credential-issuing STS calls that succeeded (AssumeRole*, AssumeRoot,
--                GetSessionToken, GetFederationToken): the only relation the recursion walks
--   tg_signins   console sign-ins and Identity Center UserAuthentication events
--   tg_bgid      credentials seen on events whose identity is break-glass (to find sessions whose
--                entry event lies outside the data, and long-term key use)
--   tg_seeds     top-level candidates: break-glass role assumptions, AssumeRoot, console logins,
--                and the credentials of tg_bgid that no edge or sign-in issued
--   tg_chain     recursive walk over tg_edges: a credential issued to a break-glass credential is
--                chained to it (any depth, any account); deepest path wins
--   tg_cred      one row per session credential, with kind, parent and root
--   tg_actions   the distinct events carrying each credential (by access key, or by role session
--                ARN + creationdate for Identity Center and console sessions), entry excluded
--   tg_iam, tg_revocations  password, access-key and MFA changes; AWSRevokeOlderSessions
--   tg_sess      per session: key, id, MFA state, TTL deadline, approval, revocation
--   session_events  actions with their session and per-event flags
--   tg_session_integrity  per session, the newest validate-logs verdict over the log files its
--                actions came from (valid, not_covered, invalid, unknown)
--   sessions     the sessions (docs/CONTRACT.md §6 columns)
-- A credential is matched by "tokens": its issued access key, and its (session ARN, creationdate)
-- pair. An event carries both; an edge's caller carries both.
-- $bg_role_patterns, $bg_user_patterns and $bg_root are the configuration as bound values (the
-- same as the bg_roles, bg_users and bg_policy tables).

-- step: tg_calls
-- The few calls the steps below look at (STS credential issuing, console and Identity Center
-- sign-ins, IAM credential changes). They come from `identity_events`: the `events` rows of
-- sts, signin and iam (every column but _raw), an index ingest keeps beside `events` so that
-- this step does not scan every event. A calls list edited here must stay within those services.
SELECT coalesce(eventid, concat(_source, '#', CAST(_record AS VARCHAR))) AS eventid,
       eventtime, recipientaccountid, eventsource, eventname, errorcode, errormessage,
       useridentity.type AS itype,
       nullif(useridentity.arn, '') AS arn,
       nullif(useridentity.accesskeyid, '') AS akey,
       nullif(useridentity.accountid, '') AS accountid,
       useridentity.username AS username,
       useridentity.sessioncontext.attributes.creationdate AS cd,
       useridentity.sessioncontext.attributes.mfaauthenticated AS mfa,
       nullif(useridentity.sessioncontext.sessionissuer.arn, '') AS issuer_arn,
       useridentity.sessioncontext.sourceidentity AS ctx_source_identity,
       requestparameters, responseelements, additionaleventdata, serviceeventdetails,
       sourceipaddress, useragent
FROM identity_events
WHERE eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AssumeRoot',
                    'GetSessionToken', 'GetFederationToken', 'ConsoleLogin', 'UserAuthentication',
                    'PasswordUpdated', 'PutRolePolicy', 'ChangePassword', 'UpdateLoginProfile',
                    'CreateLoginProfile', 'DeleteLoginProfile', 'UpdateAccessKey',
                    'DeleteAccessKey', 'DeactivateMFADevice', 'DeleteVirtualMFADevice')
  AND eventsource IN ('sts.amazonaws.com', 'signin.amazonaws.com', 'iam.amazonaws.com');

-- step: tg_sts
-- One row per issued credential (per call when none was issued). A cross-account AssumeRole is
-- logged twice (the caller's copy and the role owner's AWSAccount copy): the caller's copy gives
-- the caller (for chaining); the entry event is the copy recorded in the credential's own account.
SELECT eventid, entry_eventid, eventtime, recipient, eventname, errorcode, errormessage,
       caller_type, caller_arn, caller_key, caller_cd, caller_mfa, caller_issuer, principal_arn,
       account, session_name, source_identity, serial_number, issued_key, issued_arn,
       granted_expiry, sourceipaddress, useragent
FROM (
  SELECT *,
         row_number() OVER (PARTITION BY coalesce(issued_key, eventid)
                            ORDER BY CASE WHEN caller_key IS NULL THEN 1 ELSE 0 END,
                                     CASE WHEN caller_type = 'AWSAccount' THEN 1 ELSE 0 END,
                                     CASE WHEN errorcode IS NULL THEN 0 ELSE 1 END,
                                     eventtime, eventid) AS rn,
         first_value(eventid) OVER (PARTITION BY coalesce(issued_key, eventid)
                                    ORDER BY CASE WHEN recipient = account THEN 0 ELSE 1 END,
                                             CASE WHEN errorcode IS NULL THEN 0 ELSE 1 END,
                                             eventtime, eventid
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
           AS entry_eventid
  FROM (
    SELECT *, coalesce(nullif(split_part(principal_arn, ':', 5), ''), recipient) AS account
    FROM (
      SELECT eventid AS eventid,
             eventtime,
             recipientaccountid AS recipient,
             eventname,
             errorcode,
             errormessage,
             itype AS caller_type,
             arn AS caller_arn,
             akey AS caller_key,
             cd AS caller_cd,
             mfa AS caller_mfa,
             issuer_arn AS caller_issuer,
             CASE eventname
               WHEN 'AssumeRoot' THEN concat('arn:aws:iam::',
                 CASE WHEN json_get_str(requestparameters, 'targetPrincipal') LIKE 'arn:%'
                      THEN split_part(json_get_str(requestparameters, 'targetPrincipal'), ':', 5)
                      ELSE json_get_str(requestparameters, 'targetPrincipal') END, ':root')
               WHEN 'GetSessionToken' THEN arn
               WHEN 'GetFederationToken' THEN json_get_str(responseelements, 'federatedUser', 'arn')
               ELSE json_get_str(requestparameters, 'roleArn')
             END AS principal_arn,
             json_get_str(requestparameters, 'roleSessionName') AS session_name,
             coalesce(json_get_str(responseelements, 'sourceIdentity'),
                      json_get_str(requestparameters, 'sourceIdentity'),
                      ctx_source_identity) AS source_identity,
             json_get_str(requestparameters, 'serialNumber') AS serial_number,
             nullif(json_get_str(responseelements, 'credentials', 'accessKeyId'), '') AS issued_key,
             CASE eventname
               WHEN 'AssumeRoot' THEN concat('arn:aws:iam::',
                 CASE WHEN json_get_str(requestparameters, 'targetPrincipal') LIKE 'arn:%'
                      THEN split_part(json_get_str(requestparameters, 'targetPrincipal'), ':', 5)
                      ELSE json_get_str(requestparameters, 'targetPrincipal') END, ':root')
               WHEN 'GetSessionToken' THEN arn
               WHEN 'GetFederationToken' THEN json_get_str(responseelements, 'federatedUser', 'arn')
               ELSE json_get_str(responseelements, 'assumedRoleUser', 'arn')
             END AS issued_arn,
             sts_time(json_get_str(responseelements, 'credentials', 'expiration')) AS granted_expiry,
             sourceipaddress,
             useragent
      FROM tg_calls
      WHERE eventsource = 'sts.amazonaws.com'
        AND eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity',
                          'AssumeRoot', 'GetSessionToken', 'GetFederationToken')
    ) x
  ) x2
) y
WHERE rn = 1;

-- step: tg_edges
SELECT * FROM tg_sts WHERE errorcode IS NULL;

-- step: tg_signins
SELECT eventid, eventtime, recipient, account, eventname, itype, arn, username, success,
       mfa_used, credential_type, signin_user, sourceipaddress, useragent, errorcode, errormessage
FROM (
  SELECT *, row_number() OVER (PARTITION BY eventid ORDER BY eventtime) AS rn
  FROM (
    SELECT eventid AS eventid,
           eventtime,
           recipientaccountid AS recipient,
           coalesce(accountid, recipientaccountid) AS account,
           eventname,
           itype AS itype,
           arn AS arn,
           username AS username,
           CASE WHEN eventname = 'ConsoleLogin'
                THEN errorcode IS NULL
                     AND lower(coalesce(json_get_str(responseelements, 'ConsoleLogin'), '')) = 'success'
                ELSE errorcode IS NULL
                     AND lower(coalesce(json_get_str(serviceeventdetails, 'UserAuthentication'), '')) = 'success'
           END AS success,
           json_get_str(additionaleventdata, 'MFAUsed') AS mfa_used,
           upper(json_get_str(additionaleventdata, 'CredentialType')) AS credential_type,
           coalesce(json_get_str(additionaleventdata, 'UserName'), username) AS signin_user,
           sourceipaddress,
           useragent,
           errorcode,
           errormessage
    FROM tg_calls
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname IN ('ConsoleLogin', 'UserAuthentication')
  ) x
) y
WHERE rn = 1;

-- step: tg_bgid
-- One pass over `events`: rows whose identity matches a break-glass pattern ($bg_role_patterns,
-- $bg_user_patterns and $bg_root are the configuration's bound values, the same as the bg_*
-- tables), grouped per credential.
SELECT account, itype, arn, min(issuer_arn) AS issuer_arn, cd, min(key) AS key,
       min(eventtime) AS first_time
FROM (
  SELECT coalesce(nullif(useridentity.accountid, ''), recipientaccountid) AS account,
         useridentity.type AS itype,
         nullif(useridentity.arn, '') AS arn,
         nullif(useridentity.sessioncontext.sessionissuer.arn, '') AS issuer_arn,
         useridentity.sessioncontext.attributes.creationdate AS cd,
         nullif(useridentity.accesskeyid, '') AS key,
         eventtime
  FROM events
) x
WHERE ((itype = 'AssumedRole' AND arn_glob(issuer_arn, $bg_role_patterns))
       OR (itype = 'IAMUser' AND arn_glob(arn, $bg_user_patterns))
       OR (itype = 'Root' AND $bg_root))
  AND (cd IS NOT NULL OR key IS NOT NULL)
GROUP BY account, itype, arn, cd, CASE WHEN cd IS NULL THEN key END;

-- step: tg_seeds
-- (a) a break-glass role assumed by anyone (chaining is decided by tg_chain)
SELECT e.eventid AS cred_id,
       CASE WHEN arn_glob(e.principal_arn, 'arn:*:iam::*:role/*AWSReservedSSO_*')
            THEN 'identity_center' ELSE 'role' END AS kind,
       e.account, e.principal_arn, e.entry_eventid AS entry_event_id, e.eventtime AS start,
       e.issued_key, e.issued_arn AS sess_arn, e.eventtime AS sess_cd, e.granted_expiry,
       e.session_name, e.source_identity, e.caller_arn, e.sourceipaddress AS entry_ip,
       (e.serial_number IS NOT NULL OR coalesce(e.caller_mfa, '') = 'true') AS entry_mfa,
       false AS long_term
FROM tg_edges e
WHERE e.eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity')
  AND EXISTS (SELECT 1 FROM bg_roles r WHERE arn_glob(e.principal_arn, r.pattern))
UNION ALL
-- (b) centralized root access (sts:AssumeRoot)
SELECT * FROM (
SELECT e.eventid AS cred_id, 'root' AS kind, e.account, e.principal_arn,
       e.entry_eventid AS entry_event_id, e.eventtime AS start,
       e.issued_key, e.issued_arn AS sess_arn, e.eventtime AS sess_cd, e.granted_expiry,
       e.session_name, e.source_identity, e.caller_arn, e.sourceipaddress AS entry_ip,
       (e.serial_number IS NOT NULL OR coalesce(e.caller_mfa, '') = 'true') AS entry_mfa,
       false AS long_term
FROM tg_edges e CROSS JOIN bg_policy p
WHERE e.eventname = 'AssumeRoot' AND p.root
) b
UNION ALL
-- (c) successful console sign-in of a break-glass user, or of root
SELECT * FROM (
SELECT s.eventid AS cred_id,
       CASE WHEN s.itype = 'Root' THEN 'root' ELSE 'user' END AS kind,
       s.account, s.arn AS principal_arn, s.eventid AS entry_event_id, s.eventtime AS start,
       CAST(NULL AS VARCHAR) AS issued_key, s.arn AS sess_arn, s.eventtime AS sess_cd,
       arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))') AS granted_expiry,
       s.username AS session_name, CAST(NULL AS VARCHAR) AS source_identity, s.arn AS caller_arn,
       s.sourceipaddress AS entry_ip,
       lower(coalesce(s.mfa_used, '')) = 'yes' AS entry_mfa,
       false AS long_term
FROM tg_signins s CROSS JOIN bg_policy p
WHERE s.eventname = 'ConsoleLogin' AND s.success
  AND ((s.itype = 'IAMUser' AND EXISTS (SELECT 1 FROM bg_users u WHERE arn_glob(s.arn, u.pattern)))
       OR (s.itype = 'Root' AND p.root))
) c
UNION ALL
-- (d) break-glass credentials whose entry is not in the data, and long-term keys (AKIA…): one
--     session per credential, starting at its creationdate or, for a long-term key, its first use
SELECT * FROM (
SELECT concat('cred:', g.account, '|', coalesce(g.arn, ''), '|', coalesce(g.key, ''), '|',
              coalesce(CAST(g.cd AS VARCHAR), '')) AS cred_id,
       CASE WHEN g.itype = 'AssumedRole'
                 AND arn_glob(g.issuer_arn, 'arn:*:iam::*:role/*AWSReservedSSO_*') THEN 'identity_center'
            WHEN g.itype = 'AssumedRole' THEN 'role'
            WHEN g.itype = 'Root' THEN 'root'
            ELSE 'user' END AS kind,
       g.account,
       CASE WHEN g.itype = 'AssumedRole' THEN g.issuer_arn ELSE g.arn END AS principal_arn,
       CAST(NULL AS VARCHAR) AS entry_event_id,
       coalesce(g.cd, g.first_time) AS start,
       g.key AS issued_key, CASE WHEN g.cd IS NOT NULL THEN g.arn END AS sess_arn, g.cd AS sess_cd,
       arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))') AS granted_expiry,
       CASE WHEN g.itype IN ('AssumedRole', 'IAMUser') THEN regexp_replace(g.arn, '^.*/', '') END
         AS session_name,
       CAST(NULL AS VARCHAR) AS source_identity, CAST(NULL AS VARCHAR) AS caller_arn,
       CAST(NULL AS VARCHAR) AS entry_ip,
       CAST(NULL AS BOOLEAN) AS entry_mfa,
       g.cd IS NULL AND g.key LIKE 'AKIA%' AS long_term
FROM tg_bgid g
WHERE NOT EXISTS (SELECT 1 FROM tg_edges e WHERE e.issued_key = g.key)
  AND NOT EXISTS (SELECT 1 FROM tg_edges e WHERE e.issued_arn = g.arn AND e.eventtime = g.cd)
  AND NOT EXISTS (SELECT 1 FROM tg_signins s
                  WHERE s.eventname = 'ConsoleLogin' AND s.success
                    AND s.arn = g.arn AND s.eventtime = g.cd)
) d;

-- step: tg_chain
WITH RECURSIVE chain (cred_id, root_id, parent_id, depth, issued_key, sess_arn, sess_cd) AS (
  SELECT * FROM (
    SELECT cred_id, cred_id AS root_id, CAST(NULL AS VARCHAR) AS parent_id, 0 AS depth, issued_key,
           sess_arn, sess_cd
    FROM tg_seeds
  ) s0
  UNION ALL
  SELECT e.eventid AS cred_id, c.root_id, c.cred_id AS parent_id, c.depth + 1 AS depth,
         e.issued_key, e.issued_arn AS sess_arn, e.eventtime AS sess_cd
  FROM chain c
  JOIN tg_edges e
    ON (e.caller_key = c.issued_key)
    OR (e.caller_arn = c.sess_arn AND e.caller_cd = c.sess_cd)
  WHERE c.depth < 16 AND e.eventid <> c.cred_id
)
SELECT cred_id, root_id, parent_id, depth
FROM (
  SELECT *, row_number() OVER (PARTITION BY cred_id ORDER BY depth DESC, root_id, parent_id) AS rn
  FROM chain
) x
WHERE rn = 1;

-- step: tg_cred
SELECT ch.cred_id, ch.root_id, ch.parent_id, CAST(ch.depth AS BIGINT) AS depth,
       CASE WHEN ch.depth > 0 THEN 'chained' ELSE s.kind END AS kind,
       coalesce(s.account, e.account) AS account,
       coalesce(s.principal_arn, e.principal_arn) AS principal_arn,
       CASE WHEN ch.depth > 0 THEN e.entry_eventid ELSE s.entry_event_id END AS entry_event_id,
       CASE WHEN ch.depth > 0 THEN e.eventtime ELSE s.start END AS start,
       CASE WHEN ch.depth > 0 THEN e.issued_key ELSE s.issued_key END AS issued_key,
       CASE WHEN ch.depth > 0 THEN e.issued_arn ELSE s.sess_arn END AS sess_arn,
       CASE WHEN ch.depth > 0 THEN e.eventtime ELSE s.sess_cd END AS sess_cd,
       CASE WHEN ch.depth > 0 THEN e.granted_expiry ELSE s.granted_expiry END AS granted_expiry,
       CASE WHEN ch.depth > 0 THEN e.session_name ELSE s.session_name END AS session_name,
       CASE WHEN ch.depth > 0 THEN e.source_identity ELSE s.source_identity END AS source_identity,
       CASE WHEN ch.depth > 0 THEN e.caller_arn ELSE s.caller_arn END AS caller_arn,
       CASE WHEN ch.depth > 0 THEN e.sourceipaddress ELSE s.entry_ip END AS entry_ip,
       CASE WHEN ch.depth > 0 THEN NULL ELSE s.entry_mfa END AS entry_mfa,
       coalesce(s.long_term, false) AND ch.depth = 0 AS long_term
FROM tg_chain ch
LEFT JOIN tg_seeds s ON s.cred_id = ch.cred_id AND ch.depth = 0
LEFT JOIN tg_edges e ON e.eventid = ch.cred_id AND ch.depth > 0;

-- step: tg_actions
-- via 0: the access key; via 1: role-session (or console) ARN + creationdate; via 2: an IAM-user
-- or root call that carries neither key nor creationdate (older console records, e.g. a root
-- console session's calls) belongs to the latest console sign-in of that principal up to 12 hours
-- (the console session limit) before it.
SELECT cred_id, eventid, eventtime, recipientaccountid, awsregion, eventsource, eventname,
       sourceipaddress, useragent, errorcode, errormessage, readonly, access_key_id,
       mfaauthenticated, source_object
FROM (
  SELECT a.*, row_number() OVER (PARTITION BY a.eventid ORDER BY a.via, a.cred_start DESC, a.cred_id) AS rn
  FROM (
    SELECT c.cred_id, 0 AS via, c.start AS cred_start, c.entry_event_id,
           coalesce(ev.eventid, concat(ev._source, '#', CAST(ev._record AS VARCHAR))) AS eventid,
           ev.eventtime, ev.recipientaccountid, ev.awsregion, ev.eventsource, ev.eventname,
           ev.sourceipaddress, ev.useragent, ev.errorcode, ev.errormessage, ev.readonly,
           nullif(ev.useridentity.accesskeyid, '') AS access_key_id,
           ev.useridentity.sessioncontext.attributes.mfaauthenticated AS mfaauthenticated,
           CAST(ev._source AS VARCHAR) AS source_object
    FROM events ev
    JOIN tg_cred c ON ev.useridentity.accesskeyid = c.issued_key
    UNION ALL
    -- via 1 and via 2 share one pass: both join on the principal ARN
    SELECT c.cred_id,
           CASE WHEN ev.useridentity.sessioncontext.attributes.creationdate = c.sess_cd
                THEN 1 ELSE 2 END,
           c.start, c.entry_event_id,
           coalesce(ev.eventid, concat(ev._source, '#', CAST(ev._record AS VARCHAR))),
           ev.eventtime, ev.recipientaccountid, ev.awsregion, ev.eventsource, ev.eventname,
           ev.sourceipaddress, ev.useragent, ev.errorcode, ev.errormessage, ev.readonly,
           nullif(ev.useridentity.accesskeyid, ''),
           ev.useridentity.sessioncontext.attributes.mfaauthenticated,
           CAST(ev._source AS VARCHAR)
    FROM events ev
    JOIN tg_cred c ON ev.useridentity.arn = c.sess_arn
    WHERE ev.useridentity.sessioncontext.attributes.creationdate = c.sess_cd
       OR (ev.useridentity.type IN ('IAMUser', 'Root')
           AND nullif(ev.useridentity.accesskeyid, '') IS NULL
           AND ev.useridentity.sessioncontext.attributes.creationdate IS NULL
           AND ev.eventsource <> 'signin.amazonaws.com'
           AND c.issued_key IS NULL AND c.depth = 0
           AND ev.eventtime >= c.sess_cd
           AND ev.eventtime < c.sess_cd + INTERVAL '12 hours')
  ) a
) x
WHERE rn = 1 AND (entry_event_id IS NULL OR eventid <> entry_event_id);

-- step: tg_iam
-- IAM and sign-in events about credentials: revocation policies, password, access-key and MFA
-- changes (the rules BG006, BG010 and BG013 read this instead of scanning events again).
SELECT eventid, eventtime, account, eventsource, eventname, errorcode, caller_type, caller_arn,
       caller_user, target_user, access_key, policy_name, token_issue_time, serial_number,
       status, role_name
FROM (
  SELECT *, row_number() OVER (PARTITION BY eventid ORDER BY eventtime) AS rn
  FROM (
    SELECT eventid AS eventid,
           eventtime,
           recipientaccountid AS account,
           eventsource,
           eventname,
           errorcode,
           itype AS caller_type,
           arn AS caller_arn,
           username AS caller_user,
           json_get_str(requestparameters, 'userName') AS target_user,
           json_get_str(requestparameters, 'accessKeyId') AS access_key,
           json_get_str(requestparameters, 'policyName') AS policy_name,
           CASE WHEN eventname = 'PutRolePolicy' THEN sts_time(coalesce(
             json_get_str(json_get_str(requestparameters, 'policyDocument'), 'Statement', 0, 'Condition', 'DateLessThan', 'aws:TokenIssueTime'),
             json_get_str(json_get_str(requestparameters, 'policyDocument'), 'Statement', 'Condition', 'DateLessThan', 'aws:TokenIssueTime')))
           END AS token_issue_time,
           json_get_str(requestparameters, 'serialNumber') AS serial_number,
           json_get_str(requestparameters, 'status') AS status,
           json_get_str(requestparameters, 'roleName') AS role_name
    FROM tg_calls
    WHERE (eventsource = 'iam.amazonaws.com'
           AND eventname IN ('PutRolePolicy', 'ChangePassword', 'UpdateLoginProfile',
                             'CreateLoginProfile', 'DeleteLoginProfile', 'UpdateAccessKey',
                             'DeleteAccessKey', 'DeactivateMFADevice', 'DeleteVirtualMFADevice'))
       OR (eventsource = 'signin.amazonaws.com' AND eventname = 'PasswordUpdated')
  ) x
  WHERE eventname <> 'PutRolePolicy' OR policy_name = 'AWSRevokeOlderSessions'
) y
WHERE rn = 1;

-- step: tg_revocations
-- Events that end a session's right to act: an AWSRevokeOlderSessions policy on a role, a
-- password change of a user or root, a long-term key deactivated or deleted.
SELECT target_kind, account, target, eventid, eventtime, eventname,
       coalesce(token_issue_time, eventtime) AS token_issue_time
FROM (
  SELECT 'role' AS target_kind, account, role_name AS target, eventid, eventtime, eventname,
         token_issue_time
  FROM tg_iam
  WHERE eventname = 'PutRolePolicy' AND errorcode IS NULL
  UNION ALL
  SELECT 'user', account,
         CASE WHEN eventname = 'ChangePassword' THEN caller_user ELSE target_user END,
         eventid, eventtime, eventname, arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))')
  FROM tg_iam
  WHERE errorcode IS NULL AND eventname IN ('ChangePassword', 'UpdateLoginProfile', 'DeleteLoginProfile')
  UNION ALL
  SELECT * FROM (
    SELECT 'root' AS target_kind, account, 'root' AS target, eventid, eventtime, eventname,
           arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))') AS token_issue_time
    FROM tg_iam
    WHERE errorcode IS NULL AND eventname = 'PasswordUpdated'
  ) r2
  UNION ALL
  SELECT 'key', account, access_key, eventid, eventtime, eventname,
         arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))')
  FROM tg_iam
  WHERE errorcode IS NULL
    AND (eventname = 'DeleteAccessKey'
         OR (eventname = 'UpdateAccessKey' AND lower(coalesce(status, '')) = 'inactive'))
) r;

-- step: tg_base
-- Per credential: the key its actions carry, its own MFA evidence, approval and revocation.
SELECT c.*,
       coalesce(k.action_key, c.issued_key) AS access_key_id,
       CASE WHEN c.kind = 'identity_center'
            THEN ic.credential_type IS NOT NULL
                 AND regexp_replace(ic.credential_type, 'PASSWORD|EXTERNAL_IDP|[ ,]', '', 'g') <> ''
            ELSE coalesce(c.entry_mfa, k.first_mfa = 'true', false)
       END AS own_mfa,
       CASE WHEN c.kind IN ('identity_center')
                 OR (c.kind = 'role' AND c.session_name IS NOT NULL AND c.source_identity IS NULL)
            THEN coalesce(c.source_identity, c.session_name)
            WHEN c.kind = 'role' THEN c.source_identity
            WHEN c.kind IN ('user') THEN regexp_replace(c.principal_arn, '^.*/', '')
            WHEN c.kind = 'root' AND c.caller_arn IS NOT NULL AND c.caller_arn NOT LIKE '%:root'
              THEN c.caller_arn
            WHEN c.kind = 'root' THEN 'root'
            ELSE coalesce(c.source_identity, c.session_name)
       END AS own_actor,
       ap.ticket AS own_approval,
       ap.not_after AS own_approval_not_after,
       rv.revoked_at
FROM tg_cred c
LEFT JOIN (
  SELECT cred_id,
         first_value(access_key_id ORDER BY eventtime, access_key_id)
           FILTER (WHERE access_key_id IS NOT NULL) AS action_key,
         first_value(mfaauthenticated ORDER BY eventtime, eventid) AS first_mfa
  FROM tg_actions
  GROUP BY cred_id
) k ON k.cred_id = c.cred_id
LEFT JOIN (
  SELECT c2.cred_id,
         first_value(s.credential_type ORDER BY s.eventtime DESC, s.eventid DESC) AS credential_type
  FROM tg_cred c2
  JOIN tg_signins s
    ON s.signin_user = c2.session_name
   AND s.eventname = 'UserAuthentication' AND s.success AND s.eventtime <= c2.start
  WHERE c2.kind = 'identity_center'
  GROUP BY c2.cred_id
) ic ON ic.cred_id = c.cred_id
LEFT JOIN (
  SELECT c3.cred_id,
         first_value(a.ticket ORDER BY a.not_before DESC, a.ticket) AS ticket,
         first_value(a.not_after ORDER BY a.not_before DESC, a.ticket) AS not_after
  FROM tg_cred c3
  JOIN approvals a
    ON c3.start >= a.not_before AND c3.start <= a.not_after
   AND (arn_glob(c3.principal_arn, a.principal)
        OR arn_glob(coalesce(c3.source_identity, c3.session_name, ''), a.principal))
  GROUP BY c3.cred_id
) ap ON ap.cred_id = c.cred_id
LEFT JOIN (
  SELECT c4.cred_id, min(r.eventtime) AS revoked_at
  FROM tg_cred c4
  JOIN tg_revocations r
    ON r.account = c4.account
   AND ((r.target_kind = 'role' AND c4.principal_arn LIKE '%:role/%'
         AND r.target = regexp_replace(c4.principal_arn, '^.*/', '')
         AND c4.start < r.token_issue_time)
        OR (r.target_kind = 'user' AND c4.kind = 'user' AND NOT c4.long_term
            AND r.target = regexp_replace(c4.principal_arn, '^.*/', ''))
        OR (r.target_kind = 'root' AND c4.kind = 'root' AND c4.entry_event_id IS NOT NULL
            AND c4.issued_key IS NULL)
        OR (r.target_kind = 'key' AND c4.long_term AND r.target = c4.issued_key))
   AND r.eventtime > c4.start
  GROUP BY c4.cred_id
) rv ON rv.cred_id = c.cred_id;

-- step: tg_sess
-- Chained sessions take the TTL deadline, MFA state, actor and approval of their root session.
SELECT b.cred_id, b.root_id, b.parent_id, b.depth, b.kind, b.account, b.principal_arn,
       coalesce(r.own_actor, b.own_actor) AS actor,
       b.access_key_id, b.start, b.granted_expiry,
       r.start + p.ttl AS ttl_deadline,
       CASE WHEN b.depth > 0 THEN r.own_mfa ELSE b.own_mfa END AS mfa_at_entry,
       r.own_approval AS approval,
       r.own_approval_not_after AS approval_not_after,
       b.revoked_at, b.entry_event_id, b.long_term, b.session_name, b.source_identity,
       b.entry_ip,
       substr(encode(sha256(concat(b.account, '|', b.kind, '|', coalesce(b.access_key_id, ''), '|',
                                   to_char(b.start, '%Y-%m-%dT%H:%M:%S%.6fZ'))), 'hex'), 1, 16)
         AS session_id
FROM tg_base b
JOIN tg_base r ON r.cred_id = b.root_id
CROSS JOIN bg_policy p;

-- step: session_events
SELECT s.session_id, s.kind, s.account, s.depth,
       a.eventid, a.eventtime, a.recipientaccountid, a.awsregion, a.eventsource, a.eventname,
       a.sourceipaddress, a.useragent, a.errorcode, a.errormessage, a.readonly,
       CASE WHEN a.readonly IS NULL
            THEN NOT (a.eventname LIKE 'Get%' OR a.eventname LIKE 'List%'
                      OR a.eventname LIKE 'Describe%' OR a.eventname LIKE 'Head%'
                      OR a.eventname LIKE 'Lookup%')
            ELSE NOT a.readonly END AS is_write,
       a.access_key_id, a.mfaauthenticated,
       a.eventtime > s.ttl_deadline AS after_ttl,
       CASE WHEN s.kind IN ('identity_center', 'chained') THEN NOT s.mfa_at_entry
            ELSE coalesce(a.mfaauthenticated, '') <> 'true' END AS without_mfa,
       s.revoked_at IS NOT NULL AND a.eventtime > s.revoked_at AS after_revocation,
       s.approval_not_after IS NOT NULL AND a.eventtime > s.approval_not_after AS after_approval,
       s.long_term, a.source_object
FROM tg_actions a
JOIN tg_sess s ON s.cred_id = a.cred_id;

-- step: tg_session_integrity
-- The log files a session's actions were read from, against the newest `validate-logs` verdict
-- on each (runs may cover only some accounts, regions or hours, so the newest row per file, not
-- the newest run). A file whose verdict is valid but whose digest's newest verdict is a failure
-- (bad signature, broken chain, ...) is not provably untouched: invalid. `unknown`: none of the
-- session's files has a verdict (never validated, or no digests for them).
SELECT f.session_id,
       CASE WHEN bool_or(v.status IN ('modified', 'missing')
                         OR (v.status = 'valid' AND d.status NOT IN ('valid', 'unchecked')))
              THEN 'invalid'
            WHEN count(v.status) = 0 THEN 'unknown'
            WHEN bool_and(coalesce(v.status = 'valid', false)) THEN 'valid'
            ELSE 'not_covered' END AS integrity
FROM (SELECT DISTINCT session_id, source_object FROM session_events) f
LEFT JOIN (
  SELECT key, status, digest FROM (
    SELECT key, status, digest,
           row_number() OVER (PARTITION BY key ORDER BY batch DESC) AS rn
    FROM integrity WHERE kind = 'log') WHERE rn = 1
) v ON v.key = f.source_object
LEFT JOIN (
  SELECT key, status FROM (
    SELECT key, status, row_number() OVER (PARTITION BY key ORDER BY batch DESC) AS rn
    FROM integrity WHERE kind = 'digest') WHERE rn = 1
) d ON d.key = v.digest
GROUP BY f.session_id;

-- step: sessions
SELECT s.session_id, s.kind, s.account, s.principal_arn, s.actor, s.access_key_id,
       coalesce(x.source_ips, s.entry_ip) AS source_ips,
       x.user_agents,
       s.start, s.granted_expiry, s.ttl_deadline,
       coalesce(x.last_action, s.start) AS "end",
       coalesce(x.events, 0) AS events,
       coalesce(x.writes, 0) AS writes,
       coalesce(x.errors, 0) AS errors,
       x.regions, x.services,
       s.mfa_at_entry,
       coalesce(x.after_ttl, 0) AS after_ttl,
       coalesce(x.without_mfa, 0) AS without_mfa,
       s.approval,
       ps.session_id AS parent_session_id,
       s.depth,
       s.entry_event_id,
       rs.session_id AS root_session_id,
       s.revoked_at,
       s.long_term,
       coalesce(i.integrity, 'unknown') AS integrity
FROM tg_sess s
LEFT JOIN tg_sess ps ON ps.cred_id = s.parent_id
LEFT JOIN tg_sess rs ON rs.cred_id = s.root_id
LEFT JOIN tg_session_integrity i ON i.session_id = s.session_id
LEFT JOIN (
  SELECT session_id,
         count(*) AS events,
         sum(CASE WHEN is_write THEN 1 ELSE 0 END) AS writes,
         sum(CASE WHEN errorcode IS NOT NULL THEN 1 ELSE 0 END) AS errors,
         sum(CASE WHEN after_ttl THEN 1 ELSE 0 END) AS after_ttl,
         sum(CASE WHEN without_mfa THEN 1 ELSE 0 END) AS without_mfa,
         max(eventtime) AS last_action,
         array_to_string(array_sort(array_agg(DISTINCT sourceipaddress)), ',') AS source_ips,
         array_to_string(array_sort(array_agg(DISTINCT useragent)), ',') AS user_agents,
         array_to_string(array_sort(array_agg(DISTINCT awsregion)), ',') AS regions,
         array_to_string(array_sort(array_agg(DISTINCT eventsource)), ',') AS services
  FROM session_events
  GROUP BY session_id
) x ON x.session_id = s.session_id
ORDER BY s.start, s.session_id
