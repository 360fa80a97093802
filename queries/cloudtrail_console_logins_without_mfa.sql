-- title: Console sign-ins without MFA
-- description: Successful console sign-ins that did not use MFA, by user.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, user_identity_type AS identity_type,
       coalesce(user_identity_user_name, user_identity_arn) AS who,
       source_ip_address, user_agent
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND event_name = 'ConsoleLogin'
  AND json_get_str(response_elements, 'ConsoleLogin') = 'Success'
  AND json_get_str(additional_event_data, 'MFAUsed') = 'No'
ORDER BY event_time, event_id
