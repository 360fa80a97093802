-- title: WAF blocks by client IP
-- description: The client IPs WAF blocked most, with the rules that blocked them and when their first and last blocked requests came.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: limit int = 20 | how many clients
-- chart: bar x=client_ip y=blocked
SELECT client_ip, country, count(*) AS blocked,
       array_to_string(array_sort(array_distinct(array_agg(terminating_rule_id))), ', ') AS rules,
       min(event_time) AS first_blocked, max(event_time) AS last_blocked
FROM waf
WHERE event_time >= $since AND event_time < $until AND action = 'BLOCK'
GROUP BY client_ip, country
ORDER BY blocked DESC, client_ip
LIMIT $limit
