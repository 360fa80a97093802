-- title: Unusual user agents against S3
-- description: S3 requests from command-line tools, scripts and known scanners, by kind, agent and bucket. The AWS CLI and SDKs are not counted.
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=user_agent y=requests
SELECT kind, user_agent, bucket, count(*) AS requests, count(DISTINCT remote_ip) AS clients
FROM (
  SELECT remote_ip, bucket, user_agent, CASE
         WHEN lower(user_agent) LIKE 'curl/%' THEN 'curl'
         WHEN lower(user_agent) LIKE 'wget/%' THEN 'wget'
         WHEN lower(user_agent) LIKE 'python%' OR lower(user_agent) LIKE '%boto%' THEN 'python'
         WHEN lower(user_agent) LIKE 'go-http-client%' THEN 'go'
         WHEN lower(user_agent) LIKE '%sqlmap%' OR lower(user_agent) LIKE '%nikto%' OR lower(user_agent) LIKE '%nmap%'
           OR lower(user_agent) LIKE '%masscan%' OR lower(user_agent) LIKE '%zgrab%' OR lower(user_agent) LIKE '%nuclei%' THEN 'scanner'
       END AS kind
  FROM s3_access
  WHERE event_time >= $since AND event_time < $until
)
WHERE kind IS NOT NULL
GROUP BY kind, user_agent, bucket
ORDER BY requests DESC, user_agent, bucket
