#!/usr/bin/env bash
# A paygate for `paygate-bench --paygate-bin` that keeps its database: on
# exit the bench's PostgreSQL database is copied to $KEEP_AS (default
# paygate_kept), or its SQLite file (with its key file) to
# bench/kept/$KEEP_AS.db, and the gateway's environment (its master key)
# saved beside it, so that builds can be measured against the same million
# payins (bench/kept/serve.sh, bench/kept/stats_ab.py).
#   KEEP_DB_BIN=/tmp/paygate-old target/release/paygate-bench --backend postgres \
#     --scenarios statistics --stats-runs 3 --paygate-bin bench/kept/keep-db.sh
# The bench passes no PAYGATE_* variable of its own environment to the
# gateway, hence KEEP_DB_BIN (default target/release/paygate). The copy is
# made inside the bench's 15 s shutdown allowance (a million payins take a
# few seconds either way).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
keep_as="${KEEP_AS:-paygate_kept}"
rm -f "$here/$keep_as".merchant*.json
(umask 077; for v in ${!PAYGATE_@}; do printf 'export %s=%q\n' "$v" "${!v}"; done >"$here/$keep_as.env")
"${KEEP_DB_BIN:-$here/../../target/release/paygate}" "$@" &
child=$!
on_term() {
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" || true
    if [[ "$PAYGATE_DATABASE_URL" == sqlite://* ]]; then
        file="${PAYGATE_DATABASE_URL#sqlite://}"
        file="${file%%\?*}"
        # A clean shutdown checkpointed the WAL into the file; a WAL left
        # over is copied with it. The key file holds the master key.
        cp "$file" "$here/$keep_as.db"
        rm -f "$here/$keep_as.db-wal"
        if [ -f "$file-wal" ]; then cp "$file-wal" "$here/$keep_as.db-wal"; fi
        cp "$file.key" "$here/$keep_as.db.key"
        exit 0
    fi
    db="${PAYGATE_DATABASE_URL##*/}"
    psql "${PAYGATE_DATABASE_URL%/*}/postgres" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$keep_as\"" \
        -c "CREATE DATABASE \"$keep_as\" TEMPLATE \"$db\"" >&2
    exit 0
}
trap on_term TERM INT
wait "$child"
