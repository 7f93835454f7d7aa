#!/usr/bin/env bash
# The web client's checks and tests: its types against the server's OpenAPI document (a stale
# src/api/schema.d.ts fails), lint, type check, unit tests (Vitest), then the browser tests
# (Playwright driving Debian's Chromium) against the real jeco-server. Installs what is
# missing: the npm packages, and Chromium from Debian's packages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*" >&2; }

# Chromium, and a colour emoji font so that reactions render in the screenshots.
if [ -z "${CHROMIUM:-}" ] && { ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/noto ]; }; then
  step "Installing Debian's chromium and fonts-noto-color-emoji for the browser tests"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi

step "Web: the server binary the browser tests run"
cargo build -p jeco-server

bash scripts/web-build.sh --force

cd examples/web
step "Web: generated API types match the server's OpenAPI document"
JECO_OPENAPI_FILE= npm run --silent check:types
step "Web: lint and type check"
npm run --silent lint
npm run --silent typecheck
step "Web: unit tests (Vitest)"
npm run --silent test
step "Web: browser tests (Playwright, Chromium)"
npx playwright test
