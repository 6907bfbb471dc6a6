#!/usr/bin/env python3
"""The OpenAPI document against the real gateway binary, on SQLite and on
PostgreSQL: Schemathesis (`--checks all`, a fixed seed and a bounded number
of examples) fuzzes the merchant, partner/public and admin APIs and must
find nothing, and a client generated from `/openapi.json` by
openapi-python-client creates, reads and lists payins.

Each database gets a fresh gateway with a merchant that has money, a paid,
a pending and a disputed payin, a payout, and an exchange order as a
partner, so that generated requests can reach more than "not found".

    target/browser-venv/bin/python scripts/contract_check.py [--paygate target/debug/paygate]
        [--max-examples N] [--only merchant,partner,admin]
"""
import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "contract"))

import gateway  # noqa: E402  (scripts/contract/gateway.py)
import generated_client  # noqa: E402

PG_ADMIN = os.environ.get("PAYGATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SEED = 18
# Each API family: the operations it covers. The merchant API first and the
# admin API last, since the admin fuzzer may disable the merchant or
# rotate its secrets.
FAMILIES = {
    "merchant": r"^/api/v1/(?!public/|partner/)",
    "partner": r"^/api/v[12]/(partner|public)/",
    "admin": r"^/admin/v1/",
}


def furnish(gw):
    """A merchant with money and one object of every kind; returns the
    credentials and ids the hooks and the configuration need."""
    m = gw.admin("POST", "/admin/v1/merchants", {"email": f"fuzz-{secrets.token_hex(4)}@example.com", "name": "Fuzz"})["data"]
    gw.admin("POST", f"/admin/v1/balances/{m['id']}/adjust", {"currency": "RUB", "amount": "100000.00", "reason": "fuzz"})
    payin = {"amount": "10.00", "currency": "RUB", "method": "card", "customer_id": "c-1"}
    paid = gw.signed(m, "/api/v1/payin/create", {"merchant_order_id": "fz-paid", **payin})["data"]["id"]
    gw.signed(m, "/api/v1/sandbox/payin/pay", {"id": paid})
    pending = gw.signed(m, "/api/v1/payin/create", {"merchant_order_id": "fz-pending", **payin})["data"]["id"]
    payout = gw.signed(m, "/api/v1/payout/create", {"merchant_order_id": "fz-payout", "amount": "5.00", "currency": "RUB",
                       "method": "card", "destination": {"card_number": "4111111111111111"}})["data"]["id"]
    dispute = gw.signed(m, "/api/v1/dispute/create", {"payin_id": paid, "amount": "10.00", "comment": "c",
                        "receipt": {"filename": "r.pdf", "data_base64": "JVBERi0xLjQK"}})["data"]["id"]
    gw.admin("PUT", "/admin/v1/exchange/methods", {
        "payin": [{"group": "crypto", "title": "Crypto", "currencies": ["ETH", "BTC"]},
                  {"group": "card", "title": "Card", "currencies": ["USD"]}],
        "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC", "ETH"]},
                   {"group": "balance", "title": "Balance", "currencies": ["USD", "EUR"]}]})
    gw.admin("PUT", "/admin/v1/rates", {"rates": [{"name": "ETH-BTC", "bid": "0.05", "ask": "0.051"},
                                                  {"name": "BTC-USD", "bid": "29000", "ask": "31000"}]})
    gw.admin("PUT", "/admin/v1/requisites", [{"method": "crypto", "currency": "ETH", "purpose": "exchange",
              "details": {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "network": "ERC20"}}])
    partner = gw.admin("POST", f"/admin/v1/merchants/{m['id']}/partner", {})["data"]
    order = gw.partner(partner, "/api/v2/partner/order/create", {
        "partner_order_id": "fz-exchange", "payin_currency": "USD", "payout_currency": "BTC", "payin_amount": "100",
        "dst_address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"})
    return {
        "merchant": {k: m[k] for k in ("id", "email", "public_token", "secret_token")},
        "partner": {"api_key": partner["api_key"], "secret": partner["secret"]},
        "ids": {"paid": paid, "pending": pending, "payout": payout, "dispute": dispute,
                "order": order["client_order_id"], "merchant": m["id"]},
    }


def config_file(tmp, seeded):
    """schemathesis.toml: the shared settings plus the ids this run made,
    so that path parameters name real objects."""
    with open(os.path.join(HERE, "contract", "schemathesis.toml")) as f:
        text = f.read()
    ids = seeded["ids"]
    text += "\n# Ids of this run's objects (scripts/contract_check.py).\n"
    for path, value in [
        ("^/admin/v1/payins/", ids["pending"]),
        ("^/admin/v1/payouts/", ids["payout"]),
        ("^/admin/v1/disputes/", ids["dispute"]),
        ("^/admin/v1/(merchants|balances)/", ids["merchant"]),
        ("^/admin/v1/exchange/orders/", ids["order"]),
    ]:
        name = "merchant_id" if "balances" in path else "id"
        text += f'\n[[operations]]\ninclude-path-regex = "{path}"\nparameters = {{ "{name}" = "{value}", "client_order_id" = "{ids["order"]}" }}\n'
    path = os.path.join(tmp, "schemathesis.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def fuzz(gw, family, seeded, tmp, max_examples):
    """Runs Schemathesis on one API family; returns (requests sent, failures)."""
    misses = os.path.join(tmp, f"auth-misses-{family}.txt")
    open(misses, "w").close()
    report = os.path.join(tmp, f"{family}.ndjson")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "hooks", "PYTHONPATH": os.path.join(HERE, "contract"),
           "CONTRACT_CREDENTIALS": json.dumps(seeded), "CONTRACT_AUTH_MISSES": misses}
    cmd = [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "--config-file", config_file(tmp, seeded),
           "run", gw.base + "/openapi.json", "--include-path-regex", FAMILIES[family],
           "--checks", "all", "--seed", str(SEED), "--max-examples", str(max_examples), "--workers", "2",
           "--report", "ndjson", "--report-ndjson-path", report, "--no-color",
           # No example database: each run replays the seed alone and leaves no files behind.
           "--generation-database", "none"]
    if family == "admin":
        cmd += ["-H", f"Authorization: Bearer {gw.admin_token}"]
    started = time.monotonic()
    # In the temporary directory: Schemathesis keeps its replay files in the working directory.
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    took = time.monotonic() - started
    sent = count_requests(report)
    with open(misses) as f:
        missed = f.read().splitlines()
    if run.returncode != 0:
        print(run.stdout[-20000:], file=sys.stderr)
        print(run.stderr[-5000:], file=sys.stderr)
        print(f"contract-check: schemathesis exited with {run.returncode}", file=sys.stderr)
    else:
        # The summary: phases, warnings (such as operations that only ever
        # answered 404) and the test-case counts.
        print(run.stdout[run.stdout.rfind("=== SUMMARY ==="):], file=sys.stderr)
    for line in missed[:20]:
        print(f"contract-check: our own signature was refused: {line}", file=sys.stderr)
    return sent, run.returncode != 0 or bool(missed), took


def count_requests(report):
    """HTTP interactions Schemathesis recorded in its NDJSON event log."""
    sent = 0
    with open(report) as f:
        for line in f:
            event = json.loads(line)
            for payload in event.values():
                if isinstance(payload, dict) and isinstance(payload.get("recorder"), dict):
                    sent += len(payload["recorder"].get("interactions", {}))
    return sent


def check(binary, database_url, label, args, env=None):
    gw = gateway.Gateway.start(binary, database_url, env or {})
    failed = []
    try:
        seeded = furnish(gw)
        with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
            # First: the admin fuzzer may rotate the merchant's secret.
            if args.client:
                generated_client.check(gw, seeded["merchant"], tmp)
                print(f"contract-check: {label}: a generated client creates, reads and lists payins", file=sys.stderr)
            for family in args.only.split(","):
                sent, bad, took = fuzz(gw, family, seeded, tmp, args.max_examples)
                verdict = "FAILED" if bad else "0 failures"
                print(f"contract-check: {label}: {family}: {sent} requests, {verdict} ({took:.0f} s)", file=sys.stderr)
                if bad:
                    failed.append(f"{label} {family}")
    finally:
        gw.stop()
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paygate", default=os.path.join(ROOT, "target", "debug", "paygate"))
    ap.add_argument("--max-examples", type=int, default=25)
    ap.add_argument("--only", default=",".join(FAMILIES))
    ap.add_argument("--databases", default="sqlite,postgres")
    ap.add_argument("--client", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    failed = []
    if "sqlite" in args.databases:
        with tempfile.TemporaryDirectory(prefix="contract-db-") as tmp:
            failed += check(args.paygate, f"sqlite://{tmp}/paygate.db", "sqlite", args)
    if "postgres" in args.databases:
        name = "paygate_contract_" + secrets.token_hex(6)
        subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], check=True)
        try:
            url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
            failed += check(args.paygate, url, "postgres", args, {"PAYGATE_MASTER_KEY": secrets.token_hex(32)})
        finally:
            subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)
    if failed:
        sys.exit(f"contract-check: failures in {', '.join(failed)}")


if __name__ == "__main__":
    main()
