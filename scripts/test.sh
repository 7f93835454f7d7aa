#!/usr/bin/env bash
# Every test of Jeco Chat, in order: the Rust workspace (unit, conformance on SQLite and
# PostgreSQL, Redis, the server end to end, several nodes, mail), the web client (generated
# types, lint, unit tests, browser tests in Chromium), the Python bindings (mypy --strict,
# pytest), the mobile bindings (Kotlin tests, Swift checks), Schemathesis against the
# served OpenAPI document, and a short run of each fuzz target. Each step installs what it
# needs when missing (npm packages, Debian's chromium, Python venvs for the bindings and
# for Schemathesis, the Kotlin compiler and JNA, cargo-fuzz), so a fresh clone with the Rust
# toolchain, Node.js 20 with npm, Java 17, Python 3 and
# PostgreSQL and Redis running (README, Testing) needs nothing else.
#
#   bash scripts/test.sh
#
# JECO_FUZZ_SECONDS sets how long each fuzz target runs [default: 20].
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Rust: cargo test --workspace"
cargo test --workspace

step "Web client: types, lint, unit tests, browser tests"
bash scripts/web-test.sh

step "Python bindings: mypy, the example, pytest"
bash scripts/python-test.sh

step "Mobile bindings: Kotlin tests, Swift checks"
bash scripts/ffi-test.sh

step "OpenAPI: Schemathesis against the real server"
bash scripts/schemathesis.sh

step "Fuzzing: each target for ${JECO_FUZZ_SECONDS:-20}s"
bash scripts/fuzz.sh "${JECO_FUZZ_SECONDS:-20}"

step "All tests passed"
