-- title: CloudTrail event volume by service
-- description: Events per service per day, management and data events apart: what fills the trail, and what data events cost at the given price per 100,000.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: data_event_price_per_100k float = 0.1 | price of 100,000 data events, in USD
-- chart: bar x=event_source y=events
SELECT event_source,
       count(*) AS events,
       count(*) FILTER (WHERE management_event) AS management_events,
       count(*) FILTER (WHERE NOT coalesce(management_event, true)) AS data_events,
       count(*) FILTER (WHERE NOT coalesce(management_event, true)) / 1e5 * $data_event_price_per_100k AS data_event_usd
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until
GROUP BY event_source
ORDER BY events DESC, event_source
