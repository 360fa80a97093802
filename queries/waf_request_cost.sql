-- title: WAF requests and their cost by day
-- description: Requests WAF inspected per day and action, priced per million requests (default: the AWS WAF list price; set yours).
-- tables: waf
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: price_per_million float = 0.6 | price of one million inspected requests, in USD
-- chart: line x=day y=requests series=action
SELECT dt AS day, action, count(*) AS requests, count(*) / 1e6 * $price_per_million AS estimated_usd
FROM waf
WHERE event_time >= $since AND event_time < $until
GROUP BY 1, 2
ORDER BY 1, 2
