-- name: BG007
-- description: Persistence during a session: access keys, users, login profiles, policies or
--   trust policies created or changed (successful calls). One row per distinct event.
-- requires: sessions
SELECT 'BG007' AS rule_id,
       'high' AS severity,
       session_id,
       eventid,
       eventtime,
       account,
       concat('iam ', eventname, ' during a ', kind, ' session')
         AS summary
FROM session_events
WHERE errorcode IS NULL
  AND eventsource = 'iam.amazonaws.com'
  AND eventname IN ('CreateAccessKey', 'UpdateAccessKey', 'CreateUser', 'CreateLoginProfile',
                    'UpdateLoginProfile', 'CreateRole', 'UpdateAssumeRolePolicy',
                    'AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy',
                    'PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy',
                    'CreatePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion',
                    'AddUserToGroup', 'CreateGroup', 'PutUserPermissionsBoundary',
                    'PutRolePermissionsBoundary', 'CreateServiceSpecificCredential',
                    'UploadSSHPublicKey', 'CreateOpenIDConnectProvider', 'CreateSAMLProvider',
                    'UpdateSAMLProvider', 'CreateInstanceProfile', 'AddRoleToInstanceProfile')
