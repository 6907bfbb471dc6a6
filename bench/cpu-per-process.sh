#!/usr/bin/env bash
# CPU time per process during a benchmark: starts paygate-bench with the given
# arguments, sums each process's user+system ticks over a 10 s window from
# 12 s to 22 s into the run (use --duration 30 so the window lies inside one
# scenario), and prints them with the machine's idle time, then the bench's
# table rows. Divide by the scenario's requests in the window for CPU per request.
#   bench/cpu-per-process.sh --backend postgres --scenarios payin-create --duration 30
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
timeout 300 target/release/paygate-bench "$@" >"$log" 2>&1 &
bench=$!
snap() {
    for p in /proc/[0-9]*; do awk '{print substr(FILENAME, 7, index(FILENAME, "/stat") - 7), $2, $14 + $15}' "$p/stat" 2>/dev/null || true; done | sort
}
sleep 12
snap >"$log.1"; head -1 /proc/stat >"$log.c1"
sleep 10
snap >"$log.2"; head -1 /proc/stat >"$log.c2"
join "$log.1" "$log.2" | awk '{d = $5 - $3; if (d > 0) s[$2] += d} END {for (k in s) print k, s[k]}' | sort -k2 -nr | head -8
paste "$log.c1" "$log.c2" | awk '{print "machine ticks (10 ms; 2 cores x 10 s = 2000): user", $13 - $2, "sys", $15 - $4, "idle", $16 - $5}'
wait "$bench" || true
grep -E '^\| (postgres|sqlite) \|' "$log" || cat "$log"
rm -f "$log" "$log".*
