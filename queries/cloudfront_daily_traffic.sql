-- title: CloudFront traffic by day
-- description: Requests, bytes served, failure rate and cache hit ratio per day: the first look at a distribution's health and its data-transfer bill.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: line x=dt y=requests
SELECT
    dt,
    count(*) AS requests,
    sum(sc_bytes) AS bytes_out,
    avg(CASE WHEN sc_status >= 500 OR sc_status = 0 THEN 1.0 ELSE 0.0 END) AS failed_ratio,
    avg(CASE WHEN x_edge_result_type IN ('Hit', 'RefreshHit') THEN 1.0 ELSE 0.0 END) AS hit_ratio
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY dt
ORDER BY dt
