-- title: WAF blocks by rule over time
-- description: Blocked requests per hour and terminating rule.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: line x=hour y=blocked series=rule
SELECT date_trunc('hour', event_time) AS hour,
       terminating_rule_id AS rule,
       count(*) AS blocked
FROM waf
WHERE event_time >= $since AND event_time < $until AND action = 'BLOCK'
GROUP BY 1, 2
ORDER BY 1, 2
