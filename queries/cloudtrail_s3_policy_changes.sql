-- title: S3 bucket policy and ACL changes
-- description: Calls that change who can reach a bucket: its policy, ACLs, public access block and ownership controls.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: table
SELECT event_time, event_name, json_get_str(request_parameters, 'bucketName') AS bucket,
       coalesce(user_identity_arn, user_identity_type) AS who, source_ip_address, error_code
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until AND event_source = 's3.amazonaws.com'
  AND event_name IN ('PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl', 'PutObjectAcl',
                     'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock',
                     'PutBucketOwnershipControls', 'DeleteBucketOwnershipControls')
ORDER BY event_time, event_id
