-- title: S3 objects by bytes sent
-- description: The objects that sent the most bytes, with their request count and egress price at the given rate per GB.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.09 | data transfer out to the internet per GB, in USD
-- param: limit int = 20 | how many objects
-- chart: bar x=key y=bytes_sent
SELECT bucket, key,
       count(*) AS requests,
       sum(bytes_sent) AS bytes_sent,
       sum(bytes_sent) / 1e9 * $price_per_gb AS estimated_usd
FROM s3_access
WHERE event_time >= $since AND event_time < $until AND key IS NOT NULL AND bytes_sent > 0
GROUP BY bucket, key
ORDER BY bytes_sent DESC, bucket, key
LIMIT $limit
