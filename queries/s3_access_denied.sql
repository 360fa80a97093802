-- Who is being refused by S3: requesters and addresses behind 403 AccessDenied, per bucket.
SELECT
    bucket,
    coalesce(requester, 'anonymous') AS requester,
    remote_ip,
    count(*) AS denied,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM s3_access
WHERE http_status = 403
GROUP BY bucket, requester, remote_ip
ORDER BY denied DESC, bucket
