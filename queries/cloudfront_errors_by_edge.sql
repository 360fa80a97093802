-- Server-side failures (5xx) and aborted responses (status 000) by edge location and
-- CloudFront's detailed reason: is an origin or a region in trouble?
SELECT
    x_edge_location,
    x_edge_detailed_result_type,
    sc_status,
    count(*) AS requests
FROM cloudfront
WHERE sc_status >= 500 OR sc_status = 0
GROUP BY x_edge_location, x_edge_detailed_result_type, sc_status
ORDER BY requests DESC, x_edge_location
