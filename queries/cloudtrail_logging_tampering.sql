-- title: CloudTrail, GuardDuty or Config stopped or deleted
-- description: Calls that turn off the services that watch the account: stopping or deleting a trail, deleting or disabling a GuardDuty detector, stopping or deleting AWS Config recording.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, event_source, event_name, coalesce(user_identity_arn, user_identity_type) AS who,
       source_ip_address, aws_region, error_code
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until
  AND ((event_source = 'cloudtrail.amazonaws.com' AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'))
    OR (event_source = 'guardduty.amazonaws.com' AND event_name IN ('DeleteDetector', 'UpdateDetector', 'DisassociateFromMasterAccount', 'DeleteMembers', 'StopMonitoringMembers'))
    OR (event_source = 'config.amazonaws.com' AND event_name IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel')))
ORDER BY event_time, event_id
