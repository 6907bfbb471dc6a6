#!/usr/bin/env python3
"""wrk mode: the write path and the status polls measured with wrk (the tool
peers publish with), each figure as a ratio to the same server's /healthz in
the same run.

    cargo build --release -p paygate
    python3 bench/wrk.py [--backend sqlite|postgres|both] [--duration 10]
                         [--threads 2] [--connections 64] [--scenarios LIST]

For each backend it starts target/release/paygate on a fresh database (a temp
SQLite file, or a new PostgreSQL database on PAYGATE_BENCH_POSTGRES_URL, by
default postgres://postgres@127.0.0.1:5432/postgres, dropped afterwards),
creates one test merchant per scenario, and runs `wrk -t2 -c64 -d10s` with a
generated Lua script per scenario:
- healthz: GET /healthz, the floor (routing and HTTP, no database);
- payin-create: one merchant, a unique merchant_order_id per request;
- payin-repeat: the same, but both wrk threads generate the same ids in
  the same order, so each id arrives twice at about the same time (a client
  retrying after a timeout, two workers of a shop): one 201, one 200;
- hot-payout: one funded merchant, a unique payout per request, all on one
  balance; afterwards the admin ledger check must pass (no overdraft);
- payin-get, payout-get, balance, payin-list: the status polls of issue 17,
  one merchant with 100 payins (and a payout), then signed payin/get
  rotating over the payins, payout/get, balance, or payin/list (20 items).
With healthz among the scenarios, each other scenario runs between two
healthz runs and its ratio is to their mean: the VM's speed drifts.
The scripts sign once: X-App-Access-Sig covers ts + email, not the body, and
a run stays inside the 300 s window. Every response's status is counted
per script (wrk's own error count only sees sockets and non-2xx), and the
table reports throughput, p50/p99/p99.9 latency and the status mix.
Needs `wrk` (Debian package wrk) and, for PostgreSQL, `psql`.
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = "bench-admin-token-" + secrets.token_hex(8)

# Counts every response's status per thread; `done` sums them over threads and
# prints one JSON line with the figures the table needs.
LUA_COMMON = r"""
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  n = 0
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local mix = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      mix[tostring(status)] = (mix[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(mix) do table.insert(parts, string.format('"%s":%d', status, count)) end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%f,"socket_errors":%d,"p50_ms":%f,"p99_ms":%f,"p999_ms":%f,"statuses":{%s}}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    table.concat(parts, ",")))
end
"""


def signature_headers(merchant):
    ts = str(int(time.time()))
    sig = hmac.new(merchant["secret_token"].encode(), (ts + merchant["email"]).encode(), hashlib.sha256).hexdigest()
    return {"X-App-Token": merchant["public_token"], "X-App-Access-Ts": ts, "X-App-Access-Sig": sig}


def lua_signed_headers(merchant):
    """The common part of a signed script. Signed once: the signature covers
    ts + email, not the body, and a run stays inside the 300 s window."""
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in signature_headers(merchant).items()]
    return LUA_COMMON + 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n' + "\n".join(lines)


def lua_signed_post(path, merchant, body_template, unique_per_thread):
    """A script POSTing `body_template` with %s replaced by an order id."""
    # Unique ids carry the thread number; repeated ids do not, so both
    # threads send the same sequence.
    order = '"o-" .. tid .. "-" .. n' if unique_per_thread else '"o-" .. n'
    return lua_signed_headers(merchant) + f"""
local template = {json.dumps(body_template)}
function request()
  n = n + 1
  return wrk.format(nil, "{path}", nil, string.format(template, {order}))
end
"""


PAYIN = '{"merchant_order_id":"%s","amount":"150.00","currency":"RUB","method":"card","customer_id":"c-1"}'
PAYOUT = ('{"merchant_order_id":"%s","amount":"1.00","currency":"RUB","method":"card",'
          '"destination":{"card_number":"4111111111111111"}}')


def lua_signed_rotation(path, merchant, bodies):
    """A script POSTing the fixed `bodies` in turn (each thread from its own offset)."""
    table = ", ".join(json.dumps(b) for b in bodies)
    return lua_signed_headers(merchant) + f"""
local bodies = {{{table}}}
function request()
  n = n + 1
  return wrk.format(nil, "{path}", nil, bodies[(tid * 37 + n) % #bodies + 1])
end
"""


def signed(base, path, merchant, body):
    """One signed merchant POST from Python (set-up only); returns `data`."""
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **signature_headers(merchant)})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)["data"]


def read_scenario(gw, name, merchant):
    """The polls of issue 17: 100 payins (and a payout), then one signed read
    over and over: payin-get rotating over the payins, payout-get, balance,
    payin-list with 20 items."""
    payins = [signed(gw.base, "/api/v1/payin/create", merchant, json.loads(PAYIN % f"read-{i}"))["id"]
              for i in range(100)]
    if name == "payin-get":
        return "/api/v1/payin/get", [json.dumps({"id": i}) for i in payins]
    if name == "payin-list":
        return "/api/v1/payin/list", [json.dumps({"limit": 20})]
    if name == "balance":
        return "/api/v1/balance", ["{}"]
    http(gw.base, "POST", f"/admin/v1/balances/{merchant['id']}/adjust",
         {"currency": "RUB", "amount": "1000.00", "reason": "wrk funding"})
    payout = signed(gw.base, "/api/v1/payout/create", merchant, json.loads(PAYOUT % "read-payout"))
    return "/api/v1/payout/get", [json.dumps({"id": payout["id"]})]


READS = ("payin-get", "payout-get", "balance", "payin-list")


def http(base, method, path, body=None, token=ADMIN):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, binary, backend):
        self.tmp = tempfile.TemporaryDirectory(prefix="paygate-wrk-")
        self.pg_admin = os.environ.get("PAYGATE_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        self.pg_name = None
        if backend == "postgres":
            self.pg_name = "paygate_wrk_" + secrets.token_hex(4)
            subprocess.run(["psql", self.pg_admin, "-qc", f"CREATE DATABASE {self.pg_name}"], check=True)
            url = self.pg_admin.rsplit("/", 1)[0] + "/" + self.pg_name
        else:
            url = f"sqlite://{self.tmp.name}/paygate.db"
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
        env.update({"PAYGATE_LISTEN": f"127.0.0.1:{port}", "PAYGATE_DATABASE_URL": url, "PAYGATE_ADMIN_TOKEN": ADMIN,
                    "PAYGATE_MASTER_KEY": secrets.token_hex(32), "PAYGATE_LOG": "warn",
                    "PAYGATE_RATE_LIMIT_PER_SECOND": "0"})
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit(f"wrk.py: the gateway exited with {self.proc.returncode}")
                time.sleep(0.1)
        sys.exit("wrk.py: the gateway did not answer /healthz")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        if self.pg_name:
            subprocess.run(["psql", self.pg_admin, "-qc", f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)"],
                           check=False)
        self.tmp.cleanup()


def run_wrk(args, url, script_text):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script_text)
    try:
        out = subprocess.run(["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
                              "-s", f.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    line = next((l for l in out.splitlines() if l.startswith("WRK_JSON ")), None)
    if line is None:
        sys.exit(f"wrk.py: wrk printed no summary:\n{out}")
    result = json.loads(line[len("WRK_JSON "):])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def scenario(args, gw, name):
    if name == "healthz":
        return run_wrk(args, gw.base + "/healthz", LUA_COMMON), ""
    merchant = http(gw.base, "POST", "/admin/v1/merchants",
                    {"email": f"wrk-{name}@example.com", "name": name, "mode": "test"})["data"]
    if name in ("payin-create", "payin-repeat"):
        script = lua_signed_post("/api/v1/payin/create", merchant, PAYIN, name == "payin-create")
        return run_wrk(args, gw.base, script), ""
    if name == "hot-payout":
        http(gw.base, "POST", f"/admin/v1/balances/{merchant['id']}/adjust",
             {"currency": "RUB", "amount": "100000000.00", "reason": "wrk funding"})
        result = run_wrk(args, gw.base, lua_signed_post("/api/v1/payout/create", merchant, PAYOUT, True))
        check = http(gw.base, "GET", "/admin/v1/ledger/check")["data"]
        return result, "ledger check ok" if check["ok"] else f"LEDGER CHECK FAILED: {check}"
    if name in READS:
        path, bodies = read_scenario(gw, name, merchant)
        return run_wrk(args, gw.base, lua_signed_rotation(path, merchant, bodies)), f"signed POST {path}"
    sys.exit(f"wrk.py: unknown scenario {name}")


def run_backend(args, gw, backend):
    """Each scenario in turn. With `healthz` among them, every other scenario
    runs between two healthz runs and is divided by their mean: this VM's
    speed drifts (healthz 53k then 70k/s a minute apart was seen), and a
    floor measured only at the start would carry that drift into the ratio."""
    names = args.scenarios.split(",")
    bracket = "healthz" in names
    rows = []

    def run(name):
        result, note = scenario(args, gw, name)
        print(f"{backend} {name}: {result['rps']:,.0f}/s {json.dumps(result['statuses'])} {note}", file=sys.stderr)
        return result, note

    before = None
    if bracket:
        before, _ = run("healthz")
        rows.append((backend, "healthz", before, before["rps"], ""))
    for name in (n for n in names if n != "healthz"):
        result, note = run(name)
        if not bracket:
            rows.append((backend, name, result, None, note))
            continue
        after, _ = run("healthz")
        floor = (before["rps"] + after["rps"]) / 2
        note = "; ".join(filter(None, [note, f"healthz {before['rps']:,.0f} before, {after['rps']:,.0f} after"]))
        rows.append((backend, name, result, floor, note))
        rows.append((backend, "healthz", after, after["rps"], ""))
        before = after
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--scenarios", default="healthz,payin-create,payin-repeat,hot-payout")
    p.add_argument("--bin", default=os.path.join(ROOT, "target/release/paygate"))
    args = p.parse_args()
    rows = []
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        gw = Gateway(args.bin, backend)
        try:
            rows.extend(run_backend(args, gw, backend))
        finally:
            gw.stop()
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, {os.cpu_count()} cores shared\n")
    print("| backend | scenario | req/s | × healthz | p50 ms | p99 ms | p99.9 ms | statuses | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for backend, name, r, healthz, note in rows:
        ratio = f"{r['rps'] / healthz:.3f}" if healthz else "–"
        mix = " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items()))
        if r["socket_errors"]:
            mix += f" socket-errors:{r['socket_errors']}"
        print(f"| {backend} | {name} | {r['rps']:,.0f} | {ratio} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['p999_ms']:.2f} | {mix} | {note} |")


if __name__ == "__main__":
    main()
