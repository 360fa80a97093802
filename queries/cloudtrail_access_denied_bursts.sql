-- title: Bursts of AccessDenied by principal
-- description: Principals with many AccessDenied or UnauthorizedOperation errors within one hour: stolen credentials probing what they can do, or a broken deployment.
-- tables: cloudtrail
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: min_errors int = 5 | at least this many denials in the hour
-- chart: bar x=principal y=denied
SELECT date_trunc('hour', event_time) AS hour,
       coalesce(user_identity_arn, user_identity_principal_id, '?') AS principal,
       count(*) AS denied,
       count(DISTINCT event_name) AS distinct_calls
FROM cloudtrail
WHERE event_time >= $since AND event_time < $until
  AND (error_code LIKE '%AccessDenied%' OR error_code LIKE '%UnauthorizedOperation%')
GROUP BY 1, 2
HAVING count(*) >= $min_errors
ORDER BY denied DESC, hour, principal
