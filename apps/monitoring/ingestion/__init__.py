"""Metric ingestion: parse and validate files of observations (pure), load them set-based
(PostgreSQL COPY into a staging table, or a portable path), and run batches as Celery jobs."""
