"""The gateway binary as a test drives it: started on a free loopback port
with a database and an admin token, and called as the admin, a merchant
(signed X-App-* headers) or a partner (API-Key and API-Signature)."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request


class Gateway:
    def __init__(self, proc, base, admin_token):
        self.proc, self.base, self.admin_token = proc, base, admin_token

    @classmethod
    def start(cls, binary, database_url, env_extra):
        admin_token = "contract-admin-token-" + secrets.token_hex(8)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
        # No request budget: the fuzzer is one merchant sending as fast as
        # it can, and 429s would only hide what it came to test.
        env.update({"PAYGATE_DATABASE_URL": database_url, "PAYGATE_ADMIN_TOKEN": admin_token, "PAYGATE_LOG": "warn",
                    "PAYGATE_ALLOW_PRIVATE_CALLBACKS": "true", "PAYGATE_RATE_LIMIT_PER_SECOND": "0"})
        env.update(env_extra)
        proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith("paygate listening on "):
                return cls(proc, line.split(" on ", 1)[1].strip(), admin_token)
        sys.exit("contract-check: the gateway did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)

    def call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            sys.exit(f"contract-check: {method} {path}: HTTP {e.code} {e.read().decode()}")

    def admin(self, method, path, body=None):
        return self.call(method, path, body, {"Authorization": "Bearer " + self.admin_token})

    def signed(self, m, path, body):
        return self.call("POST", path, body, merchant_headers(m))

    def partner(self, p, path, body):
        raw = json.dumps(body).encode()
        return self.call("POST", path, headers=partner_headers(p, path, raw), raw=raw)


def merchant_headers(m):
    """Fresh X-App-* headers for merchant `m` (public_token, secret_token, email)."""
    ts = str(int(time.time()))
    sig = hmac.new(m["secret_token"].encode(), (ts + m["email"]).encode(), hashlib.sha256).hexdigest()
    return {"X-App-Token": m["public_token"], "X-App-Access-Ts": ts, "X-App-Access-Sig": sig}


def partner_headers(p, path, raw_body):
    """API-Key and API-Signature = base64(HMAC-SHA512(secret, SHA-256(path + raw body))) for partner `p`."""
    digest = hashlib.sha256(path.encode() + raw_body).digest()
    sig = base64.b64encode(hmac.new(p["secret"].encode(), digest, hashlib.sha512).digest()).decode()
    return {"API-Key": p["api_key"], "API-Signature": sig}
