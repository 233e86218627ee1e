#!/bin/sh
# mlgov's two database roles (README, "Database roles"). The postgres image runs this once, when
# its data volume is first initialised (/docker-entrypoint-initdb.d), as the superuser
# POSTGRES_USER, which nothing else uses afterwards:
#
#   MLGOV_DB_OWNER (mlgov_owner)  owns the database and every table; runs `manage.py migrate`,
#                                 then `manage.py audit_grant_app_role`, and the restore drill
#                                 (CREATEDB, for its scratch database). Not a superuser.
#   MLGOV_DB_APP_ROLE (mlgov_app) what web, worker and beat connect as: owns nothing, so it can
#                                 neither alter the audit table nor disable its triggers; the
#                                 grant step lets it only read and append audit events.
#
# Passwords come from MLGOV_DB_OWNER_PASSWORD and MLGOV_DB_APP_PASSWORD. The same statements
# set up a database server outside Docker (run as a superuser, with PGHOST etc. set).
set -eu

: "${MLGOV_DB_OWNER_PASSWORD:?set MLGOV_DB_OWNER_PASSWORD}"
: "${MLGOV_DB_APP_PASSWORD:?set MLGOV_DB_APP_PASSWORD}"
db="${MLGOV_DB_NAME:-mlgov}"
owner="${MLGOV_DB_OWNER:-mlgov_owner}"
app="${MLGOV_DB_APP_ROLE:-mlgov_app}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set db="$db" --set owner="$owner" --set app="$app" \
    --set owner_password="$MLGOV_DB_OWNER_PASSWORD" --set app_password="$MLGOV_DB_APP_PASSWORD" \
    <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEROLE CREATEDB PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
\connect :"db"
-- Only the owner creates objects (the default from PostgreSQL 15 on; explicit for older ones).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO :"owner";
SQL
