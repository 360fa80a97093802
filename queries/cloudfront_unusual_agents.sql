-- title: Unusual user agents against CloudFront
-- description: Requests from command-line tools, scripts and known scanners (curl, wget, python, Go, sqlmap, nikto, nmap, masscan, zgrab, nuclei), by kind and agent.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=user_agent y=requests
SELECT kind, user_agent, count(*) AS requests, count(DISTINCT c_ip) AS clients
FROM (
  SELECT c_ip, cs_user_agent AS user_agent, CASE
         WHEN lower(cs_user_agent) LIKE 'curl/%' THEN 'curl'
         WHEN lower(cs_user_agent) LIKE 'wget/%' THEN 'wget'
         WHEN lower(cs_user_agent) LIKE 'python%' OR lower(cs_user_agent) LIKE '%boto%' THEN 'python'
         WHEN lower(cs_user_agent) LIKE 'go-http-client%' THEN 'go'
         WHEN lower(cs_user_agent) LIKE '%sqlmap%' OR lower(cs_user_agent) LIKE '%nikto%' OR lower(cs_user_agent) LIKE '%nmap%'
           OR lower(cs_user_agent) LIKE '%masscan%' OR lower(cs_user_agent) LIKE '%zgrab%' OR lower(cs_user_agent) LIKE '%nuclei%' THEN 'scanner'
       END AS kind
  FROM cloudfront
  WHERE event_time >= $since AND event_time < $until
)
WHERE kind IS NOT NULL
GROUP BY kind, user_agent
ORDER BY requests DESC, user_agent
