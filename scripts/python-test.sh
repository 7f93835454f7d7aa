#!/usr/bin/env bash
# The Python bindings' checks: builds the `jeco` package into bindings/python/.venv (made when
# missing, with pinned maturin, pytest, pytest-asyncio and mypy), type-checks the package, its
# examples and tests with mypy --strict, runs the self-contained example, and runs the pytest
# suite against the embedded server and the jeco-server binary. Needs Python >= 3.10 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PY_DIR=bindings/python
VENV="$PY_DIR/.venv"
PYTHON="${PYTHON:-python3}"

step "Python: virtual environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  maturin==1.16.0 pytest==9.2.0 pytest-asyncio==1.5.0 mypy==2.4.1

step "Python: the jeco-server binary (for the restart tests)"
cargo build -q -p jeco-server
export JECO_SERVER_BIN="$PWD/target/debug/jeco-server"

step "Python: build the jeco package (maturin develop)"
(cd "$PY_DIR" && VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" maturin develop -q)

step "Python: mypy --strict (package, examples, tests)"
(cd "$PY_DIR" && .venv/bin/mypy --strict jeco examples tests)

step "Python: the example chat"
"$VENV/bin/python" "$PY_DIR/examples/demo.py"

step "Python: pytest"
(cd "$PY_DIR" && .venv/bin/python -m pytest -q)
