-- title: Anonymous S3 access
-- description: Requests made without credentials (the requester is "-"), by bucket, operation and status: public objects, or buckets that should not be public.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=bucket y=requests
SELECT bucket, operation, http_status, count(*) AS requests, count(DISTINCT remote_ip) AS clients,
       sum(coalesce(bytes_sent, 0)) AS bytes_sent
FROM s3_access
WHERE event_time >= $since AND event_time < $until AND requester IS NULL
GROUP BY bucket, operation, http_status
ORDER BY requests DESC, bucket, operation, http_status
