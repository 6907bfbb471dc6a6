#!/usr/bin/env bash
# The test suite: unit, property and integration tests, the integration
# tests against both SQLite and PostgreSQL (each test runs on both).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-test-deps.sh
exec cargo test --workspace --locked "$@"
