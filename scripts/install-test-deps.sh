#!/usr/bin/env bash
# Installs, idempotently, what the test suite needs besides Deno: the PostgreSQL 15 server,
# pgTAP, pg_cron and pg_prove, requests for Debian's python3 (the Python example runs on
# /usr/bin/python3), and wrk for the bench's HTTP load (Debian packages). The pinned Supabase CLI
# is fetched by tests/run.ts.
# Fast when everything is already there.
set -euo pipefail

pkgs=()
if ! command -v initdb >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  pkgs+=(postgresql-15)
fi
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || pkgs+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null 2>&1 || pkgs+=(libtap-parser-sourcehandler-pgtap-perl)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || pkgs+=(postgresql-15-cron)
/usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || pkgs+=(python3-requests)
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)

if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${pkgs[*]} from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "!!! cannot install ${pkgs[*]} (not root): the tests that need them will be IGNORED !!!" >&2
  fi
fi
