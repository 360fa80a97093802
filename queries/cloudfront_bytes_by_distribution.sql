-- title: CloudFront bytes out by distribution
-- description: Bytes served per distribution (its cloudfront.net domain), with the transfer price at the given rate per GB (default: the first-10-TB price for North America and Europe; set yours).
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.085 | data transfer out per GB, in USD
-- chart: bar x=distribution y=bytes_out
SELECT cs_host AS distribution, count(*) AS requests, sum(sc_bytes) AS bytes_out,
       sum(sc_bytes) / 1e9 * $price_per_gb AS estimated_usd
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY cs_host
ORDER BY bytes_out DESC, distribution
