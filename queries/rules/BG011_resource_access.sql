-- name: BG011
-- description: Interactive resource access during a session: SSM StartSession, EC2 Instance
--   Connect (SSH or serial console key push), ECS Exec. One row per distinct event.
-- requires: sessions
SELECT 'BG011' AS rule_id,
       'low' AS severity,
       session_id,
       eventid,
       eventtime,
       account,
       concat(eventsource, ' ', eventname, ' during a ', kind, ' session') AS summary
FROM session_events
WHERE errorcode IS NULL
  AND ((eventsource = 'ssm.amazonaws.com' AND eventname = 'StartSession')
       OR (eventsource = 'ec2-instance-connect.amazonaws.com'
           AND eventname IN ('SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'))
       OR (eventsource = 'ecs.amazonaws.com' AND eventname = 'ExecuteCommand'))
