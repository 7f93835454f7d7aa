#!/usr/bin/env bash
# Builds the web client into examples/web/dist when it is missing or older than its sources:
# installs its npm packages first when they are missing or the lock file changed. Needs
# Node.js 20.19 or newer with npm.
#
#   bash scripts/web-build.sh [--force]
set -euo pipefail

web=$(cd "$(dirname "${BASH_SOURCE[0]}")/../examples/web" && pwd)
cd "$web"

if ! command -v npm >/dev/null 2>&1; then
  echo "The web client needs Node.js 20.19+ with npm: https://nodejs.org/ (or your system's nodejs and npm packages)." >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci (examples/web)" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

stale=yes
if [ "${1:-}" != "--force" ] && [ -f dist/index.html ]; then
  newer=$(find src public index.html package-lock.json vite.config.ts -newer dist/index.html -print -quit)
  [ -z "$newer" ] && stale=no
fi
if [ "$stale" = yes ]; then
  echo "==> building the web client (examples/web/dist)" >&2
  npm run --silent bundle
fi
