-- name: BG008
-- description: Audit tampering during a session: CloudTrail stopped, deleted or narrowed; AWS
--   Config, GuardDuty, Security Hub, EventBridge alerting or Access Analyzer switched off. Attempts
--   count too (a denied StopLogging is still an attempt to go dark). One row per distinct event.
-- requires: sessions
SELECT 'BG008' AS rule_id,
       'critical' AS severity,
       session_id,
       eventid,
       eventtime,
       account,
       concat(eventsource, ' ', eventname, ' during a ', kind, ' session',
              CASE WHEN errorcode IS NOT NULL THEN concat(' (attempt failed: ', errorcode, ')') ELSE '' END)
         AS summary
FROM session_events
WHERE (eventsource = 'cloudtrail.amazonaws.com'
       AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                         'PutInsightSelectors', 'DeleteEventDataStore',
                         'StopEventDataStoreIngestion', 'UpdateEventDataStore'))
   OR (eventsource = 'config.amazonaws.com'
       AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder',
                         'DeleteDeliveryChannel', 'DeleteConfigRule'))
   OR (eventsource = 'guardduty.amazonaws.com'
       AND eventname IN ('DeleteDetector', 'UpdateDetector', 'DisassociateFromMasterAccount',
                         'DisassociateFromAdministratorAccount', 'DeleteMembers',
                         'StopMonitoringMembers', 'CreateIPSet', 'UpdateIPSet'))
   OR (eventsource = 'securityhub.amazonaws.com'
       AND eventname IN ('DisableSecurityHub', 'BatchDisableStandards'))
   OR (eventsource = 'events.amazonaws.com' AND eventname IN ('DisableRule', 'DeleteRule'))
   OR (eventsource = 'access-analyzer.amazonaws.com' AND eventname = 'DeleteAnalyzer')
