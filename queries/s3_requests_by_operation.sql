-- title: S3 requests by operation, with their cost
-- description: Requests per operation, priced per 1,000 requests: PUT, COPY, POST and LIST at the write price, GET and the rest at the read price (defaults are S3 Standard list prices in us-east-1; set yours).
-- tables: s3_access
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- param: write_price_per_1000 float = 0.005 | price of 1,000 PUT, COPY, POST or LIST requests, in USD
-- param: read_price_per_1000 float = 0.0004 | price of 1,000 GET and other requests, in USD
-- chart: bar x=operation y=requests
SELECT operation,
       count(*) AS requests,
       count(*) / 1000.0 * CASE
         WHEN operation LIKE '%.PUT.%' OR operation LIKE '%.COPY.%' OR operation LIKE '%.POST.%'
           OR operation LIKE '%LIST%' OR operation LIKE 'REST.GET.BUCKET' THEN $write_price_per_1000
         ELSE $read_price_per_1000
       END AS estimated_usd
FROM s3_access
WHERE event_time >= $since AND event_time < $until AND operation IS NOT NULL
GROUP BY operation
ORDER BY requests DESC, operation
