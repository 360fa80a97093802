-- Clients that make the most requests, with how many were refused or missing: scrapers,
-- credential stuffing and misbehaving bots show up here first.
SELECT
    c_ip,
    count(*) AS requests,
    sum(CASE WHEN sc_status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS client_errors,
    count(DISTINCT cs_uri_stem) AS distinct_paths,
    round(sum(sc_bytes) / 1048576.0, 2) AS mib_out
FROM cloudfront
GROUP BY c_ip
ORDER BY requests DESC, c_ip
LIMIT 10
