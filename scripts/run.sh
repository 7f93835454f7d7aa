#!/usr/bin/env bash
# Runs Jeco Chat with its embedded defaults (SQLite in ./data, in-process pub/sub, no other
# service) and the web client at http://127.0.0.1:8080/. Builds the web client first when it
# is missing or stale. Arguments go to jeco-server (`bash scripts/run.sh --help`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/web-build.sh
exec cargo run -p jeco-server -- "$@"
