-- title: Scanners: one IP, many distinct 404 paths
-- description: Clients that asked for many different paths that do not exist, the signature of content discovery and vulnerability scanners.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: min_paths int = 10 | at least this many distinct 404 paths
-- chart: bar x=client_ip y=distinct_404_paths
SELECT c_ip AS client_ip,
       count(DISTINCT cs_uri_stem) AS distinct_404_paths,
       count(*) AS requests_404,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM cloudfront
WHERE event_time >= $since AND event_time < $until AND sc_status = 404
GROUP BY c_ip
HAVING count(DISTINCT cs_uri_stem) >= $min_paths
ORDER BY distinct_404_paths DESC, client_ip
