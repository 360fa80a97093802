-- title: ALB failures by status, reason and target
-- description: Where the load balancer fails requests: 5xx and 460 responses per status, error reason and target, with how many never reached a target.
-- tables: alb
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=target y=requests
SELECT
    elb_status_code,
    coalesce(error_reason, '-') AS error_reason,
    coalesce(target_ip, 'no target') AS target,
    count(*) AS requests,
    count(*) FILTER (WHERE target_processing_time IS NULL) AS not_dispatched
FROM alb
WHERE event_time >= $since AND event_time < $until AND (elb_status_code >= 500 OR elb_status_code = 460)
GROUP BY elb_status_code, error_reason, target_ip
ORDER BY requests DESC, elb_status_code, error_reason, target
