-- title: Failed console sign-ins by source IP
-- description: Failed console sign-ins per source IP, with the users tried: password guessing shows up here.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=source_ip_address y=failures
SELECT source_ip_address, count(*) AS failures,
       count(DISTINCT coalesce(user_identity_user_name, user_identity_arn, '?')) AS users_tried,
       min(event_time) AS first_seen, max(event_time) AS last_seen
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND event_name = 'ConsoleLogin'
  AND (json_get_str(response_elements, 'ConsoleLogin') = 'Failure' OR error_message = 'Failed authentication')
GROUP BY source_ip_address
ORDER BY failures DESC, source_ip_address
