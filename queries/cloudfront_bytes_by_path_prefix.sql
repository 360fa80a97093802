-- title: CloudFront bytes out by path prefix
-- description: Bytes served per first path segment (/images, /downloads, /api, …), with the transfer price at the given rate per GB.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.085 | data transfer out per GB, in USD
-- param: limit int = 20 | how many prefixes
-- chart: bar x=prefix y=bytes_out
SELECT '/' || split_part(cs_uri_stem, '/', 2) AS prefix, count(*) AS requests, sum(sc_bytes) AS bytes_out,
       sum(sc_bytes) / 1e9 * $price_per_gb AS estimated_usd
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY 1
ORDER BY bytes_out DESC, prefix
LIMIT $limit
