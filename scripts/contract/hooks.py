"""Schemathesis hooks for paygate: how each API family signs its calls.

Loaded by `scripts/contract_check.py` through SCHEMATHESIS_HOOKS, with the
credentials of the merchant the run made in CONTRACT_CREDENTIALS. Merchant
and partner headers are computed afresh for every generated request (no
cache: `refresh_interval=None`), because a merchant signature is only good
for the server's time window and a partner signature covers the body. The
admin token comes in with `-H Authorization: …` instead.

Every request our credentials should have let through but did not (401 for
a bad signature or a stale time) is written to CONTRACT_AUTH_MISSES, so a
signing mistake here cannot pass for a run that tested the API.
"""
import json
import os

import schemathesis
from requests.compat import json as requests_json
from schemathesis.core import NotSet

from gateway import merchant_headers, partner_headers

CREDENTIALS = json.loads(os.environ["CONTRACT_CREDENTIALS"])
MERCHANT_PATHS = r"^/api/v1/(?!public/|partner/)"
PARTNER_PATHS = r"^/api/v[12]/partner/"


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=MERCHANT_PATHS)
class MerchantSignature:
    """X-App-Token, X-App-Access-Ts (Unix seconds, now) and
    X-App-Access-Sig = hex(HMAC-SHA256(secret_token, ts + email))."""

    def get(self, case, ctx):
        return merchant_headers(CREDENTIALS["merchant"])

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), **data}


def wire_body(case):
    """The bytes the requests transport will send for `case.body`: what
    `requests` itself writes for `json=` (schemathesis hands JSON bodies to
    it that way), raw bytes as they are, `null` for None."""
    body = case.body
    if isinstance(body, NotSet):
        return b""
    if isinstance(body, bytes):
        return body
    if body is None:
        return b"null"
    try:
        return requests_json.dumps(body, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return b""


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=PARTNER_PATHS)
class PartnerSignature:
    """API-Key and API-Signature = base64(HMAC-SHA512(secret, SHA-256(path + raw body)))."""

    def get(self, case, ctx):
        return CREDENTIALS["partner"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), **partner_headers(data, case.formatted_path, wire_body(case))}


@schemathesis.hook
def before_call(context, case, kwargs):
    """Signs a partner call again just before it is sent: the stateful
    phase fills a body from earlier answers after the auth hook ran."""
    partner = CREDENTIALS["partner"]
    if isinstance(case.headers, dict) and case.headers.get("API-Key") == partner["api_key"]:
        case.headers.update(partner_headers(partner, case.formatted_path, wire_body(case)))


AUTH_CODES = {"AUTH_BAD_SIGNATURE", "AUTH_TS_EXPIRED", "AUTH_UNKNOWN_TOKEN"}


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 401 or not case._has_explicit_auth:
        return
    try:
        code = response.json()["error"]["code"]
    except Exception:  # noqa: BLE001 - any other body is not ours to judge here
        return
    if code in AUTH_CODES:
        with open(os.environ["CONTRACT_AUTH_MISSES"], "a") as f:
            f.write(f"{case.method} {case.formatted_path} {code} {wire_body(case)[:200]!r}\n")
