-- name: audit_tampering
-- description: Calls that blind the audit trail, by anyone: CloudTrail stopped, deleted or
--   narrowed; AWS Config recording stopped; GuardDuty or Security Hub disabled; alerting rules off.
-- param: from timestamp = null  window start
-- param: to timestamp = null    window end
SELECT DISTINCT eventtime, recipientaccountid AS account, eventsource, eventname,
       coalesce(nullif(useridentity.arn, ''), useridentity.type) AS who, errorcode,
       sourceipaddress, eventid
FROM events
WHERE ((eventsource = 'cloudtrail.amazonaws.com'
        AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                          'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion'))
    OR (eventsource = 'config.amazonaws.com'
        AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel'))
    OR (eventsource = 'guardduty.amazonaws.com'
        AND eventname IN ('DeleteDetector', 'UpdateDetector', 'DisassociateFromMasterAccount',
                          'DisassociateFromAdministratorAccount'))
    OR (eventsource = 'securityhub.amazonaws.com' AND eventname = 'DisableSecurityHub')
    OR (eventsource = 'events.amazonaws.com' AND eventname IN ('DisableRule', 'DeleteRule')))
  AND ($from IS NULL OR eventtime >= $from)
  AND ($to IS NULL OR eventtime <= $to)
ORDER BY eventtime, eventid
