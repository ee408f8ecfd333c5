#!/bin/sh
# First start: create the cluster, the role and the database from POSTGRES_USER/_PASSWORD/_DB.
set -eu
bin="$(ls -d /usr/lib/postgresql/*/bin | tail -1)"
user="${POSTGRES_USER:-nhs}"; db="${POSTGRES_DB:-nhs}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  pwfile="$(mktemp)"; printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=127.0.0.1" -w start >/dev/null
  PGPASSWORD="$POSTGRES_PASSWORD" "$bin/psql" -h 127.0.0.1 -U "$user" -d postgres \
    -c "CREATE DATABASE \"$db\"" >/dev/null
  "$bin/pg_ctl" -D "$PGDATA" -w stop >/dev/null
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
