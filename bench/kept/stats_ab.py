#!/usr/bin/env python3
"""Interleaved A/B of /api/v1/statistics over the kept database's year:
builds served by bench/kept/serve.sh on PORTS answer in turn, request by
request (the machine's speed drifts within minutes, so alternation is the
only fair comparison), and each port's p50/p90 per granularity is printed,
with whether the answers were byte-identical across builds.

    python3 bench/kept/stats_ab.py 18080,18081 [--runs 25] [--granularities none,day,hour]
"""
import argparse, hashlib, hmac, http.client, json, os, statistics, time

HERE = os.path.dirname(os.path.abspath(__file__))
DAY = 86400


def call(port, merchant, granularity):
    ts = str(int(time.time()))
    sig = hmac.new(merchant["secret_token"].encode(), (ts + merchant["email"]).encode(), hashlib.sha256).hexdigest()
    start = int((time.time() - 365 * DAY) // DAY * DAY)  # as the bench asks: 366 days holding the year
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    body = json.dumps({"date_from": fmt(start), "date_to": fmt(start + 366 * DAY), "granularity": granularity})
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json", "X-App-Token": merchant["public_token"],
               "X-App-Access-Ts": ts, "X-App-Access-Sig": sig}
    t = time.perf_counter()
    conn.request("POST", "/api/v1/statistics", body, headers)
    resp = conn.getresponse()
    data = resp.read()
    took = (time.perf_counter() - t) * 1000
    if resp.status != 200:
        raise SystemExit(f"port {port}: {resp.status} {data[:300]!r}")
    return took, data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ports")
    p.add_argument("--runs", type=int, default=25)
    p.add_argument("--granularities", default="none,day,hour")
    p.add_argument("--keep-as", default=os.environ.get("KEEP_AS", "paygate_kept"))
    a = p.parse_args()
    ports = [int(x) for x in a.ports.split(",")]
    merchants = {port: json.load(open(os.path.join(HERE, f"{a.keep_as}.merchant.{port}.json")))["data"] for port in ports}
    for g in a.granularities.split(","):
        bodies = {port: call(port, merchants[port], g)[1] for port in ports}  # warm-up, not counted
        same = len({hashlib.sha256(b).hexdigest() for b in bodies.values()}) == 1
        took = {port: [] for port in ports}
        for _ in range(a.runs):
            for port in ports:
                took[port].append(call(port, merchants[port], g)[0])
        cells = [f"{port}: p50 {statistics.median(v):.1f} / p90 {sorted(v)[int(len(v) * 0.9)]:.1f} ms" for port, v in took.items()]
        print(f"{g:5} {' | '.join(cells)} | answers {'identical' if same else 'DIFFER'} ({len(bodies[ports[0]])} bytes)")


if __name__ == "__main__":
    main()
