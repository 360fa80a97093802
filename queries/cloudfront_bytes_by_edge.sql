-- title: CloudFront bytes out by edge location and region
-- description: Bytes served per edge location, its pricing region (from the airport code the location starts with), and the transfer price of that region's first-10-TB tier. For the viewer's own country, see cloudfront_bytes_by_country.
-- tables: cloudfront
-- param: since timestamp = -7d | start of the range (inclusive)
-- param: until timestamp = now | end of the range (exclusive)
-- chart: bar x=edge y=bytes_out
SELECT edge, region, requests, bytes_out,
       bytes_out / 1e9 * CASE region
         WHEN 'North America' THEN 0.085 WHEN 'Europe' THEN 0.085
         WHEN 'South America' THEN 0.110 WHEN 'Japan' THEN 0.114
         WHEN 'Australia' THEN 0.114 WHEN 'India' THEN 0.109
         WHEN 'Asia Pacific' THEN 0.120 ELSE 0.110 END AS estimated_usd
FROM (
  SELECT substr(x_edge_location, 1, 3) AS edge,
         CASE
           WHEN substr(x_edge_location, 1, 3) IN ('IAD','JFK','EWR','ATL','ORD','DFW','LAX','SFO','SEA','MIA','BOS','DEN','PHX','YUL','YTO','YVR','QRO','MEX','PHL','MSP','HIO','SLC','CMH','IND','BNA','MCI','JAX','HOU','PDX','SJC') THEN 'North America'
           WHEN substr(x_edge_location, 1, 3) IN ('LHR','FRA','CDG','AMS','MAD','MXP','ARN','DUB','VIE','WAW','ZRH','CPH','HEL','OSL','PRG','BUD','MUC','DUS','HAM','MAN','LIS','ATH','BCN','BRU','SOF','ZAG','OTP','TLV','PMO','BER','FCO','MRS') THEN 'Europe'
           WHEN substr(x_edge_location, 1, 3) IN ('GRU','GIG','EZE','SCL','BOG','LIM','FOR','POA') THEN 'South America'
           WHEN substr(x_edge_location, 1, 3) IN ('NRT','KIX','HND') THEN 'Japan'
           WHEN substr(x_edge_location, 1, 3) IN ('SYD','MEL','PER','BNE','AKL') THEN 'Australia'
           WHEN substr(x_edge_location, 1, 3) IN ('BOM','DEL','MAA','BLR','HYD','CCU') THEN 'India'
           WHEN substr(x_edge_location, 1, 3) IN ('SIN','HKG','ICN','TPE','BKK','MNL','KUL','CGK','SGN','HAN') THEN 'Asia Pacific'
           ELSE 'Other'
         END AS region,
         count(*) AS requests, sum(sc_bytes) AS bytes_out
  FROM cloudfront
  WHERE event_time >= $since AND event_time < $until
  GROUP BY 1, 2
)
ORDER BY bytes_out DESC, edge
