-- title: S3 bytes sent by requester
-- description: Bytes S3 sent to each requester (an IAM principal, or "anonymous"), with the egress price at the given rate per GB.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.09 | data transfer out to the internet per GB, in USD
-- chart: bar x=requester y=bytes_sent
SELECT coalesce(requester, 'anonymous') AS requester,
       count(*) AS requests,
       sum(coalesce(bytes_sent, 0)) AS bytes_sent,
       sum(coalesce(bytes_sent, 0)) / 1e9 * $price_per_gb AS estimated_usd
FROM s3_access
WHERE event_time >= $since AND event_time < $until
GROUP BY 1
ORDER BY bytes_sent DESC, requester
