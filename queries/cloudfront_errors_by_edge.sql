-- title: CloudFront failures by edge location
-- description: Server-side failures (5xx) and aborted responses (status 000) by edge location and CloudFront's detailed reason: is an origin or a region in trouble?
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=x_edge_location y=requests
SELECT
    x_edge_location,
    x_edge_detailed_result_type,
    sc_status,
    count(*) AS requests
FROM cloudfront
WHERE event_time >= $since AND event_time < $until AND (sc_status >= 500 OR sc_status = 0)
GROUP BY x_edge_location, x_edge_detailed_result_type, sc_status
ORDER BY requests DESC, x_edge_location, x_edge_detailed_result_type, sc_status
