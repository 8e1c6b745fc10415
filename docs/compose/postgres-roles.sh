#!/bin/sh
# Run once by the postgres image when the database is first created (docker-entrypoint-initdb.d),
# as the owner (POSTGRES_USER). Makes the application role of docs/deployment.md, section 1.
set -eu
psql -v ON_ERROR_STOP=1 -v app_password="$APP_DB_PASSWORD" \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE beredskab_app LOGIN PASSWORD :'app_password';
GRANT USAGE ON SCHEMA public TO beredskab_app;
-- the scheduler's job store table (apscheduler_jobs) is created by the first replica to start:
GRANT CREATE ON SCHEMA public TO beredskab_app;
SQL
