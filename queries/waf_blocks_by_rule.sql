-- What the WAF blocked: requests per terminating rule and client country, with the
-- distinct client addresses behind them.
SELECT
    terminating_rule_id,
    country,
    count(*) AS blocked,
    count(DISTINCT client_ip) AS clients,
    max(event_time) AS last_seen
FROM waf
WHERE action = 'BLOCK'
GROUP BY terminating_rule_id, country
ORDER BY blocked DESC, terminating_rule_id, country
