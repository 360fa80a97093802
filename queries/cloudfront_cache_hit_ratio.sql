-- title: CloudFront cache hit ratio over time
-- description: Per hour, the share of requests served from the edge cache (Hit, RefreshHit), and the bytes fetched from the origin on misses.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: line x=hour y=hit_ratio
SELECT date_trunc('hour', event_time) AS hour,
       count(*) AS requests,
       CAST(count(*) FILTER (WHERE x_edge_result_type IN ('Hit', 'RefreshHit')) AS DOUBLE) / count(*) AS hit_ratio,
       sum(sc_bytes) FILTER (WHERE x_edge_result_type = 'Miss') AS miss_bytes
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY 1
ORDER BY 1
