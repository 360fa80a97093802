-- title: Requests WAF counted but let through
-- description: Requests that matched a rule in COUNT mode and were allowed anyway: what those rules would block if they were switched to BLOCK.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=rule y=requests
SELECT rule['rule_id'] AS rule, count(*) AS requests, count(DISTINCT client_ip) AS clients
FROM (
  SELECT client_ip, unnest(non_terminating_matching_rules) AS rule
  FROM waf
  WHERE event_time >= $since AND event_time < $until AND action = 'ALLOW'
)
WHERE rule['action'] = 'COUNT'
GROUP BY 1
ORDER BY requests DESC, rule
