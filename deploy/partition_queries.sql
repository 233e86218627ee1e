-- The observation reads of the heaviest series, with EXPLAIN (ANALYZE, BUFFERS): run before and
-- after deploy/partition_observations.sql on a copy of the database to compare (README,
-- "Scaling out" > "Partitioning and retention").
--   psql -d mlgov_copy -f deploy/partition_queries.sql
-- The heaviest series is found by counting (seconds on 10M rows).
\set QUIET on
\pset pager off
SELECT format('%s,%s,%L', version_id, metric_id, segment) AS heavy FROM monitoring_observation
GROUP BY version_id, metric_id, segment ORDER BY count(*) DESC LIMIT 1 \gset
SELECT split_part(:'heavy', ',', 1) AS v, split_part(:'heavy', ',', 2) AS m,
       split_part(:'heavy', ',', 3) AS s \gset
SELECT max("timestamp") AS t FROM monitoring_observation
WHERE version_id = :v AND metric_id = :m AND segment = :s \gset
\echo heaviest series: version :v metric :m segment :s, last observation :t
\echo
\echo Q1 raw rows of the last 7 days - a chart over a short range
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "timestamp", value FROM monitoring_observation
WHERE version_id = :v AND metric_id = :m AND segment = :s
  AND "timestamp" >= :'t'::timestamptz - interval '7 days' AND "timestamp" <= :'t'
ORDER BY "timestamp";
\echo Q2 first page of 1000 over the whole history - the observations download
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "timestamp", value FROM monitoring_observation
WHERE version_id = :v AND metric_id = :m AND segment = :s
  AND "timestamp" >= :'t'::timestamptz - interval '2 years' AND "timestamp" <= :'t'
ORDER BY "timestamp" LIMIT 1000;
\echo Q3 latest value of the series
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "timestamp", value FROM monitoring_observation
WHERE version_id = :v AND metric_id = :m AND segment = :s
ORDER BY "timestamp" DESC LIMIT 1;
\echo Q4 the whole series aggregated - no time bound
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*), min(value), max(value)
FROM monitoring_observation WHERE version_id = :v AND metric_id = :m AND segment = :s;
\echo Q5 every row of the last day, all models - a window over the whole store
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM monitoring_observation
WHERE "timestamp" >= :'t'::timestamptz - interval '1 day';
\echo Q6 what retention at 365 days would delete, counted
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM monitoring_observation
WHERE "timestamp" < :'t'::timestamptz - interval '365 days';
