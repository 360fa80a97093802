-- title: Root account activity
-- description: Every call made by the root user, which day-to-day work should never need.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, event_name, event_source, source_ip_address, aws_region, error_code, user_agent
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND user_identity_type = 'Root'
  AND coalesce(user_identity_invoked_by, '') = '' AND event_type <> 'AwsServiceEvent'
ORDER BY event_time, event_id
