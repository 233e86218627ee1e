-- Move an existing mlgov database to the two roles (README, "Database roles"), for deployments
-- whose tables are owned by the superuser they were first migrated as (compose recipes before
-- the two roles: POSTGRES_USER mlgov). Run once, as that superuser, in the mlgov database:
--
--   docker compose -f deploy/compose.yaml --env-file deploy/.env exec -T postgres \
--     psql -v ON_ERROR_STOP=1 -U mlgov -d mlgov -v owner=mlgov_owner -v app=mlgov_app \
--     -v owner_password="$MLGOV_DB_OWNER_PASSWORD" -v app_password="$MLGOV_DB_APP_PASSWORD" \
--     < deploy/two-roles-upgrade.sql
--
-- then start the current recipe (its migrate service migrates as the owner and grants the app
-- role its rights). The superuser stays, used by nothing.
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEROLE CREATEDB PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'app_password';
SELECT set_config('mlgov.owner', :'owner', false), set_config('mlgov.app', :'app', false);
DO $$
DECLARE
    owner text := current_setting('mlgov.owner');
    app text := current_setting('mlgov.app');
    item record;
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), owner);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), app);
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner);
    -- Tables (their identity sequences follow), then sequences and functions of their own.
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO %I', item.tablename, owner);
    END LOOP;
    FOR item IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'S'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER SEQUENCE public.%I OWNER TO %I', item.relname, owner);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', item.signature, owner);
    END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
