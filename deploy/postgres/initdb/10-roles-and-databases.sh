#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (docker-entrypoint-initdb.d). Later password changes in .env do NOT reach the
# roles created here: use ALTER ROLE ... PASSWORD on the running server.
#
# - role TEMPORAL_DB_USER (CREATEDB): temporal-sql-tool creates and migrates the
#   `temporal` and `temporal_visibility` databases itself (deploy/temporal/setup-schema.sh),
#   so schema upgrades stay in Temporal's own tooling.
# - role GONGJIAN_DB_USER owns the app database GONGJIAN_DB_NAME; the app runs its
#   migrations there at start.
set -eu

: "${TEMPORAL_DB_USER:?}" "${TEMPORAL_DB_PASSWORD:?}"
: "${GONGJIAN_DB_USER:?}" "${GONGJIAN_DB_PASSWORD:?}" "${GONGJIAN_DB_NAME:?}"

# psql variables (:"name" identifiers, :'value' literals) keep quoting safe
# whatever characters the passwords contain.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_user="$TEMPORAL_DB_USER" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v app_user="$GONGJIAN_DB_USER" \
  -v app_password="$GONGJIAN_DB_PASSWORD" \
  -v app_db="$GONGJIAN_DB_NAME" <<'SQL'
CREATE ROLE :"temporal_user" WITH LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL

echo "initdb: created roles $TEMPORAL_DB_USER, $GONGJIAN_DB_USER and database $GONGJIAN_DB_NAME"
