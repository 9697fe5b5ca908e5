#!/usr/bin/env bash
# Runs the pgTAP suite (supabase/tests/database/*.test.sql) against a throwaway PostgreSQL cluster
# prepared exactly as production is: supabase/roles.sql, then `supabase db push` of the migrations
# (and the seed unless --no-seed). The suite runs twice by default and the script fails unless the
# database dump is byte-identical before and after: every test file must leave nothing behind.
#
# Usage: scripts/pgtap.sh [--no-seed] [--runs N] [--keep] [-- extra pg_prove args]
# Env:   PGTAP_PORT (default: first free port from 55499), SUPABASE_CLI (default: `supabase` on PATH,
#        else node_modules/.bin/supabase, else /tmp/tools/node_modules/.bin/supabase; when none is
#        found, or with SUPABASE_CLI=none, the migrations are applied in order with psql instead).
# Needs: initdb, pg_ctl, psql, pg_dump and pg_prove on PATH, and the pgTAP extension installed.
# As root, the cluster runs as the `postgres` OS user (PostgreSQL refuses to run as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEED=1
RUNS=2
KEEP=0
PROVE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-seed) SEED=0 ;;
    --runs) RUNS="$2"; shift ;;
    --keep) KEEP=1 ;;
    --) shift; PROVE_ARGS=("$@"); break ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
PORT="${PGTAP_PORT:-}"
if [ -z "$PORT" ]; then
  PORT=55499
  while ! port_is_free "$PORT"; do PORT=$((PORT + 1)); done
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

DIR="$(mktemp -d /tmp/pgtap.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
cleanup() {
  as_pg pg_ctl -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  if [ "$KEEP" = 1 ]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

as_pg initdb -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg pg_ctl -D "$DIR/data" -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" -l "$DIR/log" -w start >/dev/null

export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
psql -X -q -v ON_ERROR_STOP=1 -f "$ROOT/supabase/roles.sql"

CLI="${SUPABASE_CLI:-}"
if [ "$CLI" = none ]; then
  CLI=""
elif [ -z "$CLI" ]; then
  for c in "$(command -v supabase || true)" "$ROOT/node_modules/.bin/supabase" /tmp/tools/node_modules/.bin/supabase; do
    if [ -n "$c" ] && [ -x "$c" ]; then CLI="$c"; break; fi
  done
fi
if [ -n "$CLI" ]; then
  seed_flag=()
  [ "$SEED" = 1 ] && seed_flag=(--include-seed)
  (cd "$ROOT" && "$CLI" db push --db-url "postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable" \
    "${seed_flag[@]}" --yes) >"$DIR/push.log" 2>&1 || { cat "$DIR/push.log" >&2; exit 1; }
else
  echo "supabase CLI not found: applying migrations with psql" >&2
  for f in "$ROOT"/supabase/migrations/*.sql; do psql -X -q -v ON_ERROR_STOP=1 -f "$f"; done
  [ "$SEED" = 1 ] && psql -X -q -v ON_ERROR_STOP=1 -f "$ROOT/supabase/seed.sql"
fi

# Roles, and schema and data of the whole database. Recent pg_dump versions wrap the dump in \restrict /
# \unrestrict lines carrying a random key: those are dropped.
fingerprint() {
  { pg_dumpall --roles-only --no-role-passwords; pg_dump --no-comments postgres; } \
    | grep -Ev '^\\(un)?restrict ' >"$DIR/dump.$1.sql"
  sha256sum <"$DIR/dump.$1.sql" | cut -d' ' -f1
}
before="$(fingerprint before)"

cd "$ROOT"
status=0
for run in $(seq 1 "$RUNS"); do
  echo "# pg_prove run $run of $RUNS (port $PORT)"
  pg_prove "${PROVE_ARGS[@]}" supabase/tests/database/*.test.sql || status=1
done

after="$(fingerprint after)"
if [ "$before" != "$after" ]; then
  echo "FAIL: the database changed during the test run (dump $before -> $after)" >&2
  diff "$DIR/dump.before.sql" "$DIR/dump.after.sql" | head -50 >&2 || true
  status=1
else
  echo "# database dump unchanged after $RUNS run(s): $after"
fi
exit "$status"
