#!/usr/bin/env bash
# The test suite: unit, property and integration tests, the integration
# tests against both SQLite and PostgreSQL (each test runs on both), then
# the hosted payment page in a real browser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-test-deps.sh
cargo test --workspace --locked "$@"
# The hosted payment page in a real browser (Debian's Chromium, driven by
# Playwright from the venv ensure-test-deps.sh made), on both databases,
# against the binary the tests just built.
target/browser-venv/bin/python scripts/browser_check.py --paygate "${CARGO_TARGET_DIR:-target}/debug/paygate"
# The OpenAPI document against the same binary, on both databases:
# Schemathesis must find nothing on the merchant, partner and admin APIs,
# and a client generated from the document must work.
target/browser-venv/bin/python scripts/contract_check.py --paygate "${CARGO_TARGET_DIR:-target}/debug/paygate"
