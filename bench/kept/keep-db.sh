#!/usr/bin/env bash
# A paygate for `paygate-bench --paygate-bin` that keeps its database: on
# exit the bench's PostgreSQL database is copied to $KEEP_AS (default
# paygate_kept), or its SQLite file to bench/kept/$KEEP_AS.db, and the
# gateway's environment (its master key) saved beside it, so that builds
# can be measured against the same million payins (bench/kept/serve.sh,
# bench/kept/stats_ab.py).
#   PAYGATE_BIN=target/release/paygate target/release/paygate-bench \
#     --backend postgres --scenarios statistics --paygate-bin bench/kept/keep-db.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
keep_as="${KEEP_AS:-paygate_kept}"
admin_url="${PAYGATE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
rm -f "$here/$keep_as".merchant*.json
(umask 077; env | grep '^PAYGATE_' >"$here/$keep_as.env")
"${PAYGATE_BIN:-$here/../../target/release/paygate}" "$@" &
child=$!
on_term() {
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" || true
    if [[ "$PAYGATE_DATABASE_URL" == sqlite://* ]]; then
        # A clean shutdown checkpointed the WAL into the file.
        # With its key file (embedded mode keeps the master key beside it).
        file="${PAYGATE_DATABASE_URL#sqlite://}"
        cp "$file" "$here/$keep_as.db"
        cp "$file.key" "$here/$keep_as.db.key"
        exit 0
    fi
    db="${PAYGATE_DATABASE_URL##*/}"
    psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$keep_as\"" \
        -c "CREATE DATABASE \"$keep_as\" TEMPLATE \"$db\"" >&2
    exit 0
}
trap on_term TERM INT
wait "$child"
