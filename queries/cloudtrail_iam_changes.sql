-- title: Changes to IAM users, policies and access keys
-- description: Calls that create, change or delete IAM users, groups, roles, policies, access keys, login profiles and MFA devices.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, event_name, coalesce(user_identity_arn, user_identity_type) AS who, source_ip_address,
       coalesce(json_get_str(request_parameters, 'userName'), json_get_str(request_parameters, 'roleName'),
                json_get_str(request_parameters, 'groupName'), json_get_str(request_parameters, 'policyArn')) AS target,
       error_code
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND event_source = 'iam.amazonaws.com'
  AND regexp_like(event_name, '^(Create|Delete|Update|Put|Attach|Detach|Add|Remove|Enable|Deactivate|Upload|Set|Change|Reset)')
ORDER BY event_time, event_id
