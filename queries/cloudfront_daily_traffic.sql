-- Requests, bytes served, error rate and cache hit ratio per day: the first look at a
-- distribution's health and its data-transfer bill.
SELECT
    dt,
    count(*) AS requests,
    round(sum(sc_bytes) / 1048576.0, 2) AS mib_out,
    round(100.0 * avg(CASE WHEN sc_status >= 500 OR sc_status = 0 THEN 1 ELSE 0 END), 2) AS pct_failed,
    round(100.0 * avg(CASE WHEN x_edge_result_type IN ('Hit', 'RefreshHit') THEN 1 ELSE 0 END), 1) AS pct_cache_hit
FROM cloudfront
GROUP BY dt
ORDER BY dt
