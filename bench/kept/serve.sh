#!/usr/bin/env bash
# Serves the database keep-db.sh kept with a given build on a port, for
# bench/kept/stats_ab.py.
#   bench/kept/serve.sh /tmp/paygate-old 18080 &  bench/kept/serve.sh target/release/paygate 18081 &
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; port="$2"
keep_as="${KEEP_AS:-paygate_kept}"
# shellcheck disable=SC1090
. "$here/$keep_as.env"
copy=""
if [[ "$PAYGATE_DATABASE_URL" == sqlite://* ]]; then
    # A copy per server: SQLite's one writer would make two builds queue.
    copy="$(mktemp -d)"
    cp "$here/$keep_as.db" "$here/$keep_as.db.key" "$copy/"
    if [ -f "$here/$keep_as.db-wal" ]; then cp "$here/$keep_as.db-wal" "$copy/"; fi
    export PAYGATE_DATABASE_URL="sqlite://$copy/$keep_as.db"
else
    export PAYGATE_DATABASE_URL="${PAYGATE_DATABASE_URL%/*}/$keep_as"
fi
token="kept-admin-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$bin" serve --listen "127.0.0.1:$port" --admin-token "$token" &
child=$!
stop() {
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    if [ -n "$copy" ]; then rm -rf "$copy"; fi
}
trap stop EXIT
trap 'exit 0' TERM INT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
# stats_ab.py signs as the kept statistics merchant: its secret is rotated
# here (the bench's is gone) and the new one written per port. PostgreSQL's
# servers share one database, so the first rotation serves them all; each
# SQLite server has its own copy and rotates its own. (The merchant is
# looked for on the list's first page: a statistics-only run has one.)
shared="$here/$keep_as.merchant.json"
mine="$here/$keep_as.merchant.$port.json"
if [[ "$PAYGATE_DATABASE_URL" == postgres* && -s "$shared" ]]; then
    cp "$shared" "$mine"
else
    id=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/admin/v1/merchants" |
        python3 -c "import json,sys; print(next(m['id'] for m in json.load(sys.stdin)['data']['items'] if m['email'] == 'bench-stats@example.com'))")
    (umask 077; curl -sf -X POST -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/admin/v1/merchants/$id/rotate-secret" >"$mine")
    if [[ "$PAYGATE_DATABASE_URL" == postgres* ]]; then cp "$mine" "$shared"; fi
fi
echo "serving $PAYGATE_DATABASE_URL with $bin on $port" >&2
wait "$child" || true
