-- Bytes sent out of each bucket per day and the operations behind them: where egress
-- cost comes from.
SELECT
    dt,
    bucket,
    count(*) AS requests,
    sum(CASE WHEN operation = 'REST.GET.OBJECT' THEN 1 ELSE 0 END) AS object_gets,
    round(coalesce(sum(bytes_sent), 0) / 1048576.0, 2) AS mib_sent
FROM s3_access
GROUP BY dt, bucket
ORDER BY dt, mib_sent DESC
