-- title: Top CloudFront clients by requests
-- description: The client IPs that sent the most requests, with their bytes and the share of their requests that got a 4xx or 5xx.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: limit int = 20 | how many clients
-- chart: bar x=client_ip y=requests
SELECT c_ip AS client_ip,
       count(*) AS requests,
       sum(sc_bytes) AS bytes_out,
       count(*) FILTER (WHERE sc_status >= 400) AS errors,
       CAST(count(*) FILTER (WHERE sc_status >= 400) AS DOUBLE) / count(*) AS error_rate
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY c_ip
ORDER BY requests DESC, client_ip
LIMIT $limit
