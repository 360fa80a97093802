-- title: KMS keys disabled or scheduled for deletion
-- description: Calls that disable a KMS key or schedule it for deletion; data encrypted under it becomes unreadable.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, event_name, json_get_str(request_parameters, 'keyId') AS key_id,
       json_get_int(request_parameters, 'pendingWindowInDays') AS pending_days,
       coalesce(user_identity_arn, user_identity_type) AS who, source_ip_address, error_code
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND event_source = 'kms.amazonaws.com'
  AND event_name IN ('DisableKey', 'ScheduleKeyDeletion')
ORDER BY event_time, event_id
