-- title: CloudFront clients with the highest error rate
-- description: Clients with at least min_requests requests, by the share of them answered 4xx or 5xx: probing, broken integrations, stale links.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: min_requests int = 20 | ignore clients with fewer requests
-- param: limit int = 20 | how many clients
-- chart: bar x=client_ip y=error_rate
SELECT c_ip AS client_ip,
       count(*) AS requests,
       count(*) FILTER (WHERE sc_status >= 400) AS errors,
       CAST(count(*) FILTER (WHERE sc_status >= 400) AS DOUBLE) / count(*) AS error_rate
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY c_ip
HAVING count(*) >= $min_requests
ORDER BY error_rate DESC, requests DESC, client_ip
LIMIT $limit
