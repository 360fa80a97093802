-- title: Who S3 refuses
-- description: Requesters and addresses behind 403 responses, per bucket, with when they were first and last seen.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=remote_ip y=denied
SELECT
    bucket,
    coalesce(requester, 'anonymous') AS requester,
    remote_ip,
    count(*) AS denied,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM s3_access
WHERE event_time >= $since AND event_time < $until AND http_status = 403
GROUP BY bucket, requester, remote_ip
ORDER BY denied DESC, bucket, requester, remote_ip
