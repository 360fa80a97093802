-- title: S3 bytes sent by bucket and day
-- description: Bytes sent out of each bucket per day and the GETs behind them, with the egress price at the given rate per GB: where transfer cost comes from.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.09 | data transfer out to the internet per GB, in USD
-- chart: line x=dt y=bytes_sent series=bucket
SELECT
    dt,
    bucket,
    count(*) AS requests,
    count(*) FILTER (WHERE operation = 'REST.GET.OBJECT') AS object_gets,
    coalesce(sum(bytes_sent), 0) AS bytes_sent,
    coalesce(sum(bytes_sent), 0) / 1e9 * $price_per_gb AS estimated_usd
FROM s3_access
WHERE event_time >= $since AND event_time < $until
GROUP BY dt, bucket
ORDER BY dt, bytes_sent DESC, bucket
