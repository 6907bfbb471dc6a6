#!/usr/bin/env bash
# Makes sure what the test suite talks to is there: a PostgreSQL server on
# 127.0.0.1:5432 that accepts the `postgres` user without a password, and
# python3, php-cli and perl (tests run the documents' own code), and
# Chromium with Playwright for the browser test of the hosted page. Installs and starts
# them when missing, so a fresh machine needs nothing by hand. It changes
# nothing else on the machine (the tests inject what they need, such as a
# host name that resolves to loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${PAYGATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# python3 runs the documented Python snippets and the webhook receiver;
# php-cli and perl run the partner documentation's own signing code.
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v php >/dev/null 2>&1 || missing+=(php-cli)
perl -MDigest::SHA -e1 >/dev/null 2>&1 || missing+=(perl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-test-deps: installing ${missing[*]}" >&2
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pg_ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }

if ! pg_ready; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure-test-deps: installing PostgreSQL" >&2
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$version/main
  # Trust auth on loopback for the test user, as the test URL expects.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf/pg_hba.conf"
  fi
  echo "ensure-test-deps: starting PostgreSQL $version" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "ensure-test-deps: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

if command -v psql >/dev/null 2>&1 && ! psql "$PG_URL" -qtAc 'select 1' >/dev/null 2>&1; then
  echo "ensure-test-deps: cannot log in with $PG_URL (set PAYGATE_TEST_POSTGRES_URL)" >&2
  exit 1
fi

# Playwright for Python drives Debian's Chromium (executable_path); it never
# downloads a browser of its own. Schemathesis fuzzes the API against its
# OpenAPI document, and openapi-python-client generates a client from it
# (scripts/contract_check.py). Kept in a venv inside target/; the two are
# pinned so that a fixed seed replays the same requests.
VENV=target/browser-venv
if ! "$VENV/bin/python" -c 'import playwright' >/dev/null 2>&1; then
  echo "ensure-test-deps: installing Playwright for Python in $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q playwright
fi
SCHEMATHESIS=4.32.5
OPENAPI_PYTHON_CLIENT=0.29.1
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS" \
  || ! "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -qF "$OPENAPI_PYTHON_CLIENT"; then
  echo "ensure-test-deps: installing schemathesis and openapi-python-client in $VENV" >&2
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS" "openapi-python-client==$OPENAPI_PYTHON_CLIENT"
fi
