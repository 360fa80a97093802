-- title: CloudFront requests and bytes over time
-- description: Requests, bytes out and 5xx errors per hour.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: line x=hour y=requests
SELECT date_trunc('hour', event_time) AS hour,
       count(*) AS requests,
       sum(sc_bytes) AS bytes_out,
       count(*) FILTER (WHERE sc_status >= 500) AS errors_5xx
FROM cloudfront
WHERE event_time >= $since AND event_time < $until
GROUP BY 1
ORDER BY 1
