#!/bin/sh
# One-shot job (temporalio/admin-tools image): create Temporal's databases if
# missing and bring both schemas to the version this admin-tools release ships.
# Safe to run on every `docker compose up`: `create` ignores an existing database,
# `setup-schema -v 0.0` is skipped when a newer version is recorded, and
# `update-schema` only applies versions not yet applied.
# Upgrade Temporal one minor version at a time (1.31 -> 1.32 -> ...), bumping
# TEMPORAL_VERSION and TEMPORAL_ADMINTOOLS_VERSION together.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (postgres host) must be set}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}" # read by temporal-sql-tool itself, never on the command line
DB_PORT="${DB_PORT:-5432}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

attempt=0
until nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "setup-schema: PostgreSQL unreachable at $POSTGRES_SEEDS:$DB_PORT after $attempt attempts" >&2
    exit 1
  fi
  echo "setup-schema: waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT ($attempt/30)"
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

migrate() {
  db="$1"
  schema_dir="$2"
  echo "setup-schema: $db <- $schema_dir"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$schema_dir"
}

migrate "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
migrate "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"

echo "setup-schema: done"
