-- title: Rate-limited clients
-- description: Clients stopped by a rate-based rule, with the rule and how often.
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=client_ip y=requests
SELECT client_ip, terminating_rule_id AS rule, action, count(*) AS requests,
       min(event_time) AS first_seen, max(event_time) AS last_seen
FROM waf
WHERE event_time >= $since AND event_time < $until AND terminating_rule_type = 'RATE_BASED'
GROUP BY client_ip, terminating_rule_id, action
ORDER BY requests DESC, client_ip, rule
