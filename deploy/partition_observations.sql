-- Convert monitoring_observation into a table partitioned by month on its time column
-- (PostgreSQL declarative partitioning). README, "Scaling out" > "Partitioning and retention".
--
--   psql "$DATABASE_URL_OF_THE_OWNER" -v ON_ERROR_STOP=1 -f deploy/partition_observations.sql
--   python manage.py audit_grant_app_role      # the new tables get the application role's rights
--
-- Run it as the tables' owner during a maintenance window: it holds an exclusive lock on the
-- observation table while it copies every row (10M rows: minutes) and rebuilds its indexes;
-- ingestion and the Monitoring tab wait for it. One transaction: an error leaves the table as
-- it was. The primary key (version, metric, timestamp, segment) already holds the partition
-- key, so it stays the key of every partition, and Django sees the same table and columns.
--
-- Afterwards each month is its own table monitoring_observation_pYYYYMM, created three months
-- ahead by the daily retention job (apps/monitoring/retention.py), plus a DEFAULT partition for
-- anything outside them. With MLGOV_OBSERVATION_RETENTION_DAYS set, that job drops a month's
-- partition once the whole month lies before the cut-off (no row-by-row delete, no bloat) and
-- deletes only the older rows of the boundary month in batches.

\set ON_ERROR_STOP on
\timing on
BEGIN;
LOCK TABLE monitoring_observation IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
    kind "char";
BEGIN
    SELECT relkind INTO kind FROM pg_class
    WHERE oid = 'monitoring_observation'::regclass;
    IF kind = 'p' THEN
        RAISE EXCEPTION 'monitoring_observation is already partitioned';
    END IF;
END $$;

-- Keep the secondary indexes' definitions (BRIN on time and batch, anything a later migration
-- added) to build them again on the partitioned table, after the copy.
CREATE TEMPORARY TABLE observation_indexes ON COMMIT DROP AS
SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = 'monitoring_observation'::regclass AND NOT x.indisprimary;

ALTER TABLE monitoring_observation RENAME TO monitoring_observation_unpartitioned;
ALTER TABLE monitoring_observation_unpartitioned
    RENAME CONSTRAINT monitoring_observation_pkey TO monitoring_observation_unpartitioned_pkey;
DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN SELECT name FROM observation_indexes LOOP
        EXECUTE format('DROP INDEX %I', ix.name);
    END LOOP;
END $$;

CREATE TABLE monitoring_observation (
    LIKE monitoring_observation_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
) PARTITION BY RANGE ("timestamp");

-- One partition per month the data covers, three months ahead, and a DEFAULT for the rest.
DO $$
DECLARE
    first_month timestamptz;
    last_month timestamptz;
    m timestamptz;
BEGIN
    SELECT date_trunc('month', min("timestamp") AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           date_trunc('month', greatest(max("timestamp"), now()) AT TIME ZONE 'UTC')
               AT TIME ZONE 'UTC'
    INTO first_month, last_month
    FROM monitoring_observation_unpartitioned;
    first_month := coalesce(first_month, date_trunc('month', now() AT TIME ZONE 'UTC')
                                         AT TIME ZONE 'UTC');
    last_month := coalesce(last_month, first_month) + interval '3 months';
    m := first_month;
    WHILE m <= last_month LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF monitoring_observation FOR VALUES FROM (%L) TO (%L)',
            'monitoring_observation_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'),
            m, m + interval '1 month');
        m := m + interval '1 month';
    END LOOP;
END $$;
CREATE TABLE monitoring_observation_default PARTITION OF monitoring_observation DEFAULT;

-- Copied in the table's own order (roughly arrival time), which keeps the BRIN indexes tight.
INSERT INTO monitoring_observation (version_id, metric_id, "timestamp", segment, value, batch_id)
SELECT version_id, metric_id, "timestamp", segment, value, batch_id
FROM monitoring_observation_unpartitioned;

ALTER TABLE monitoring_observation
    ADD CONSTRAINT monitoring_observation_pkey
    PRIMARY KEY (version_id, metric_id, "timestamp", segment);
DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN SELECT definition FROM observation_indexes LOOP
        EXECUTE replace(ix.definition, ' ONLY ', ' ');
    END LOOP;
END $$;

DROP TABLE monitoring_observation_unpartitioned;
COMMIT;

ANALYZE monitoring_observation;
SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bounds,
       c.reltuples::bigint AS rows_estimate
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'monitoring_observation'::regclass
ORDER BY c.relname;
