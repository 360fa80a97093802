-- title: WAF blocks by country
-- description: Blocked requests by the client's country, with the number of distinct client IPs.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=country y=blocked
SELECT coalesce(country, '??') AS country, count(*) AS blocked, count(DISTINCT client_ip) AS clients
FROM waf
WHERE event_time >= $since AND event_time < $until AND action = 'BLOCK'
GROUP BY 1
ORDER BY blocked DESC, country
