-- Changes that weaken an account's defences: audit logging stopped or deleted, KMS keys
-- disabled or scheduled for deletion, bucket policies replaced, new access keys; with who
-- did it, whether their session used MFA, and whether AWS refused it.
SELECT
    event_time,
    event_name,
    coalesce(user_identity_arn, user_identity_invoked_by) AS principal,
    session_mfa_authenticated AS mfa,
    source_ip_address,
    error_code,
    coalesce(
        json_get_str(request_parameters, 'name'),
        json_get_str(request_parameters, 'keyId'),
        json_get_str(request_parameters, 'bucketName'),
        json_get_str(request_parameters, 'userName')
    ) AS target
FROM cloudtrail
WHERE event_name IN ('StopLogging', 'DeleteTrail', 'DisableKey', 'ScheduleKeyDeletion',
                     'PutBucketPolicy', 'DeleteBucketPolicy', 'CreateAccessKey',
                     'AttachUserPolicy')
ORDER BY event_time
