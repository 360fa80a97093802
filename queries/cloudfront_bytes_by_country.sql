-- title: CloudFront bytes out by viewer country
-- description: Requests and bytes served per viewer country, with the transfer price at the given rate per GB. The country comes from the c-country field, which standard logging v2 can be asked to include (c_country in its Parquet output); rows from logs without it, legacy standard logs among them, count as unknown.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_gb float = 0.085 | data transfer out per GB, in USD
-- chart: bar x=country y=bytes_out
SELECT country, count(*) AS requests, count(DISTINCT c_ip) AS clients, sum(sc_bytes) AS bytes_out,
       sum(sc_bytes) / 1e9 * $price_per_gb AS estimated_usd
FROM (
  SELECT coalesce(nullif(coalesce(extra_fields['c-country'], extra_fields['c_country']), '-'),
                  'unknown') AS country,
         c_ip, sc_bytes
  FROM cloudfront
  WHERE event_time >= $since AND event_time < $until
)
GROUP BY country
ORDER BY bytes_out DESC NULLS LAST, country
