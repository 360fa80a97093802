-- title: WAF blocks by country over time
-- description: Blocked requests per hour and client country: when an attack from one country starts and stops.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: line x=hour y=blocked series=country
SELECT date_trunc('hour', event_time) AS hour,
       coalesce(country, '??') AS country,
       count(*) AS blocked
FROM waf
WHERE event_time >= $since AND event_time < $until AND action = 'BLOCK'
GROUP BY 1, 2
ORDER BY 1, 2
