#!/usr/bin/env python3
"""The hosted payment page in a real browser (Debian's Chromium driven by
Playwright), against the real gateway binary on SQLite and on PostgreSQL.

A customer opens a test payin's pay_url on a 375 px wide screen, sees the
amount and the requisites, presses the test button and sees the payment
succeed without a reload; an exchange order's page shows its crypto address
as a QR code. No page may throw a script error or request anything from
another origin. Screenshots go to docs/ when --screenshots is given.

    python3 scripts/browser_check.py [--paygate target/debug/paygate] [--screenshots]
"""
import argparse, base64, hashlib, hmac, json, os, secrets, shutil, subprocess, sys, tempfile, time, urllib.request

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = "browser-check-admin-token-" + secrets.token_hex(8)
PG_ADMIN = os.environ.get("PAYGATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("browser-check: Debian's chromium is not installed (scripts/ensure-test-deps.sh installs it)")


def start(binary, database_url, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
    env.update({"PAYGATE_DATABASE_URL": database_url, "PAYGATE_ADMIN_TOKEN": ADMIN, "PAYGATE_LOG": "warn"})
    env.update(env_extra)
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("paygate listening on "):
            return proc, line.split(" on ", 1)[1].strip()
    sys.exit("browser-check: the gateway did not start")


def call(base, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"browser-check: {method} {path}: HTTP {e.code} {e.read().decode()}")


def admin(base, method, path, body=None):
    return call(base, method, path, body, {"Authorization": "Bearer " + ADMIN})


def signed(base, m, path, body):
    ts = str(int(time.time()))
    sig = hmac.new(m["secret_token"].encode(), (ts + m["email"]).encode(), hashlib.sha256).hexdigest()
    return call(base, "POST", path, body, {"X-App-Token": m["public_token"], "X-App-Access-Ts": ts, "X-App-Access-Sig": sig})


def png(width, height):
    """A small valid PNG (a grey rectangle), made with the standard library."""
    import struct, zlib
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\x90" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Watch:
    """Script errors and requests to other origins, for one page."""

    def __init__(self, page, base):
        self.errors, self.foreign, self.navigations = [], [], 0
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("request", lambda r: r.url.startswith(base) or r.url.startswith("data:") or self.foreign.append(r.url))
        page.on("framenavigated", lambda f: f == page.main_frame and self.__setattr__("navigations", self.navigations + 1))

    def clean(self, what):
        if self.errors or self.foreign:
            sys.exit(f"browser-check: {what}: script errors {self.errors}, other origins {self.foreign}")


def dashboard(browser, base, binary, database_url, paid_id, shots, env_extra):
    """An operator signs in, creates a merchant, finds the paid payin; a
    viewer cannot press what only an operator may; a wrong password and
    sign-out behave."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/dashboard")
    assert page.url.endswith("/dashboard/sign-in"), page.url
    page.fill("input[name=admin_token]", "not-the-token-at-all")
    page.get_by_role("button", name="Sign in").click()
    # A refused sign-in is a 401 page, which Chromium reports on its console.
    assert "Wrong e-mail, password or token" in page.content()
    watch = Watch(page, base)
    page.fill("input[name=admin_token]", ADMIN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    assert page.locator("svg.chart rect").count() == 14
    if shots:
        page.screenshot(path=os.path.join(ROOT, "docs", "dashboard-overview.png"), full_page=True)
    page.get_by_role("link", name="Merchants").click()
    page.fill("input[name=email]", "made-in-browser@example.com")
    page.fill("input[name=name]", "Browser shop")
    page.get_by_role("button", name="Create merchant").click()
    assert page.locator("#secret").inner_text().startswith("sk_test_")
    # A test payin made from the dashboard, paid by its customer on its page.
    page.goto(base + "/dashboard/merchants")
    page.locator("tr", has_text="made-in-browser@example.com").get_by_role("button", name="Create a test payin").click()
    page.locator("#pay-url").click()
    page.get_by_role("button", name="Simulate the payment").click()
    page.locator('#status[data-phase="paid"]').wait_for(timeout=10000)
    page.goto(base + "/dashboard/payins?status=success")
    page.get_by_role("link", name=paid_id).click()
    assert "1500.00 RUB" in page.content()
    # A dispute with a PNG receipt: the image shows inline; accept it.
    page.get_by_role("link", name="Disputes").click()
    page.locator("table a").first.click()
    page.locator("img#receipt").wait_for()
    width = page.evaluate("document.getElementById('receipt').naturalWidth")
    assert width == 40, f"the receipt image did not load ({width})"
    if shots:
        page.screenshot(path=os.path.join(ROOT, "docs", "dashboard-dispute.png"), full_page=True)
    page.fill("input[name=resolved_amount]", "1400.00")
    page.get_by_role("button", name="Accept").click()
    assert "<dd>accepted</dd>" in page.content(), page.content()
    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/dashboard/sign-in"), page.url
    watch.clean("dashboard")
    # A viewer made with the CLI sees no buttons it may not press.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
    env.update({"PAYGATE_DATABASE_URL": database_url, **env_extra})
    made = subprocess.run([binary, "operator", "create", "--email", "viewer@example.com", "--role", "viewer"],
                          env=env, capture_output=True, text=True, check=True)
    password = json.loads(made.stdout)["password"]
    page.fill("input[name=email]", "viewer@example.com")
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    page.goto(base + "/dashboard/merchants")
    assert page.get_by_role("button", name="Create merchant").count() == 0
    assert page.get_by_role("button", name="Disable").count() == 0
    # Every page fits a phone: wide tables scroll inside themselves.
    page.set_viewport_size({"width": 375, "height": 760})
    for path in ["", "/merchants", "/payins", "/payouts", "/disputes", "/deliveries", "/exchange",
                 "/requisites", "/providers", "/ledger", "/audit", "/account"]:
        page.goto(base + "/dashboard" + path)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 375, f"/dashboard{path} is {wide} px wide at 375 px"
    watch.clean("dashboard as a viewer")
    page.close()


def check(binary, database_url, label, shots, env=None):
    env_extra = {"PAYGATE_ALLOW_PRIVATE_CALLBACKS": "true", **(env or {})}
    proc, base = start(binary, database_url, env_extra)
    try:
        m = admin(base, "POST", "/admin/v1/merchants", {"email": f"shop-{secrets.token_hex(4)}@example.com", "name": "Shop"})["data"]
        payin = signed(base, m, "/api/v1/payin/create", {"merchant_order_id": "b-1", "amount": "1500.00", "currency": "RUB",
                                                        "method": "card", "customer_id": "c-1"})["data"]
        pay_url = payin["pay_url"]
        assert pay_url and pay_url.startswith(base + "/pay/") and payin["id"] not in pay_url, payin
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 375, "height": 760}, device_scale_factor=2)
            watch = Watch(page, base)
            page.goto(pay_url)
            assert page.locator("#amount").inner_text() == "1500", page.content()
            assert page.locator("dl.requisites").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page fits 375 px"
            assert "Waiting" in page.locator("#status").inner_text()
            if shots:
                page.screenshot(path=os.path.join(ROOT, "docs", "pay-page-375.png"), full_page=True)
            navigations = watch.navigations
            page.get_by_role("button", name="Simulate the payment").click()
            page.locator('#status[data-phase="paid"]').wait_for(timeout=10000)
            assert watch.navigations == navigations, "success shown without a reload"
            assert "Payment received" in page.locator("#status").inner_text()
            watch.clean("pay page")
            got = signed(base, m, "/api/v1/payin/get", {"id": payin["id"]})["data"]
            assert got["status"] == "success", got
            # The payin's id is no key to any page.
            resp = page.goto(base + "/pay/" + payin["id"])
            assert resp.status == 404, resp.status

            # An exchange order paid in crypto: its address as a QR code.
            admin(base, "PUT", "/admin/v1/exchange/methods", {
                "payin": [{"group": "crypto", "title": "Crypto", "currencies": ["ETH"]}],
                "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC"]}]})
            admin(base, "PUT", "/admin/v1/rates", {"rates": [{"name": "ETH-BTC", "bid": "0.05", "ask": "0.051"}]})
            admin(base, "PUT", "/admin/v1/requisites", [{"method": "crypto", "currency": "ETH", "purpose": "exchange",
                  "details": {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "network": "ERC20"}}])
            p = admin(base, "POST", f"/admin/v1/merchants/{m['id']}/partner", {})["data"]
            path = "/api/v2/partner/order/create"
            content = json.dumps({"partner_order_id": "b-ex", "payin_currency": "ETH", "payout_currency": "BTC",
                                  "payin_amount": "1", "dst_address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"})
            sig = base64.b64encode(hmac.new(p["secret"].encode(), hashlib.sha256((path + content).encode()).digest(),
                                            hashlib.sha512).digest()).decode()
            req = urllib.request.Request(base + path, data=content.encode(), method="POST",
                                         headers={"API-Key": p["api_key"], "API-Signature": sig})
            order = json.load(urllib.request.urlopen(req))
            page2 = browser.new_page(viewport={"width": 375, "height": 760}, device_scale_factor=2)
            watch2 = Watch(page2, base)
            page2.goto(order["redirect"])
            assert page2.locator(".qr svg").count() == 1, page2.content()
            assert page2.locator("#address").inner_text() == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
            if shots:
                page2.screenshot(path=os.path.join(ROOT, "docs", "pay-page-crypto-375.png"), full_page=True)
            page2.get_by_role("button", name="Simulate the payment").click()
            page2.locator('#status[data-phase="paid"]').wait_for(timeout=10000)
            watch2.clean("exchange page")
            receipt = base64.b64encode(png(40, 24)).decode()
            signed(base, m, "/api/v1/dispute/create", {"payin_id": payin["id"], "amount": "1400.00", "comment": "paid less",
                   "receipt": {"filename": "receipt.png", "content_type": "image/png", "data_base64": receipt}})
            dashboard(browser, base, binary, database_url, payin["id"], shots, env_extra)
            browser.close()
        print(f"browser-check: {label}: the pay pages (at 375 px) and the dashboard work in Chromium", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paygate", default=os.path.join(ROOT, "target", "debug", "paygate"))
    ap.add_argument("--screenshots", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="browser-check-") as tmp:
        check(args.paygate, f"sqlite://{tmp}/paygate.db", "sqlite", args.screenshots)
    name = "paygate_browser_" + secrets.token_hex(6)
    base_url = PG_ADMIN.rsplit("/", 1)[0]
    subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        check(args.paygate, f"{base_url}/{name}", "postgres", False, {"PAYGATE_MASTER_KEY": secrets.token_hex(32)})
    finally:
        subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


if __name__ == "__main__":
    main()
