#!/usr/bin/env bash
# The mobile bindings (bindings/ffi): builds jeco-ffi and the workspace's uniffi-bindgen,
# generates Kotlin and Swift into target/ffi/, checks the Swift side (the C header parses,
# the public Swift API matches bindings/ffi/api/Jeco.swift), then compiles the Kotlin tests
# with JetBrains' compiler and runs them against a real jeco-server.
#
# Installs what is missing: JetBrains' Kotlin compiler (npm package `kotlin-compiler`, into
# target/kotlin-tools; it also ships kotlinx-coroutines, which UniFFI's async Kotlin needs)
# and JNA (Debian's libjna-java). Needs Java 17+, Node.js with npm, a C compiler, Python 3.
#
#   bash scripts/ffi-test.sh            # everything
#   JECO_BLESS=1 bash scripts/ffi-test.sh   # also rewrites api/Jeco.swift after an API change
#
# The Kotlin tests start their own jeco-server (target/debug/jeco-server, built when
# stale) on a free port, and restart it mid-test.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

KOTLIN_VERSION=2.2.21
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/ffi
kotlin_home=$target/kotlin-tools/node_modules/kotlin-compiler
jna=/usr/share/java/jna.jar

step() { printf '\n==> %s\n' "$*" >&2; }

step "Tools: Kotlin compiler $KOTLIN_VERSION, JNA"
if [ ! -x "$kotlin_home/bin/kotlinc" ] || ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json"; then
  npm install --prefix "$target/kotlin-tools" --no-audit --no-fund --silent "kotlin-compiler@$KOTLIN_VERSION"
fi
if [ ! -f "$jna" ]; then
  apt-get install -y -qq libjna-java >/dev/null 2>&1 || {
    apt-get update -qq && apt-get install -y -qq libjna-java >/dev/null
  }
fi
coroutines=$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar
for needed in java cc python3; do
  command -v "$needed" >/dev/null || { echo "ffi-test: $needed is required" >&2; exit 1; }
done
[ -f "$coroutines" ] || { echo "ffi-test: $coroutines missing from kotlin-compiler" >&2; exit 1; }

step "Build: jeco-ffi, uniffi-bindgen, jeco-server"
cargo build -p jeco-ffi -p uniffi-bindgen
cargo build -p jeco-server
case "$(uname -s)" in
  Darwin) lib=$target/debug/libjeco_ffi.dylib ;;
  *) lib=$target/debug/libjeco_ffi.so ;;
esac

step "Generate Kotlin and Swift into $out"
rm -rf "$out/kotlin" "$out/swift" "$out/classes"
"$target/debug/uniffi-bindgen" generate "$lib" --language kotlin --out-dir "$out/kotlin" --no-format
"$target/debug/uniffi-bindgen" generate "$lib" --language swift --out-dir "$out/swift" --no-format

step "Swift: the C header parses, the API matches bindings/ffi/api/Jeco.swift"
# GCC does not know Clang's nullability qualifiers, which Swift's importer reads: erase them.
nullability=()
cc --version | grep -q clang || nullability=(-D_Nonnull= -D_Nullable=)
printf '#include "JecoFFI.h"\n' |
  cc -fsyntax-only -Wall -Wextra -Werror "${nullability[@]}" -I "$out/swift" -x c -
summary=$out/Jeco.swift.api
{
  echo "// The public API of the generated Swift bindings, for review; not compiled."
  echo "// Written by scripts/ffi-test.sh (JECO_BLESS=1) from bindings/ffi/swift_api.py."
  python3 bindings/ffi/swift_api.py "$out/swift/Jeco.swift"
} >"$summary"
if [ "${JECO_BLESS:-}" = 1 ]; then
  cp "$summary" bindings/ffi/api/Jeco.swift
elif ! diff -u bindings/ffi/api/Jeco.swift "$summary"; then
  echo "ffi-test: the Swift API changed; if that is intended, rerun with JECO_BLESS=1 and commit bindings/ffi/api/Jeco.swift" >&2
  exit 1
fi

step "Kotlin: compile the bindings and the tests"
"$kotlin_home/bin/kotlinc" -nowarn -cp "$jna:$coroutines" -d "$out/classes" \
  "$out/kotlin/chat/jeco/jeco.kt" bindings/ffi/tests/kotlin/*.kt

step "Kotlin: run the tests against jeco-server"
mkdir -p "$out/run"
: >"$out/run/server.log"
JECO_SERVER_BIN=$target/debug/jeco-server JECO_TEST_DIR=$out/run \
  timeout 600 java -Djna.library.path="$target/debug" \
  -cp "$out/classes:$kotlin_home/lib/kotlin-stdlib.jar:$jna:$coroutines" \
  chat.jeco.test.JecoTestKt "$@"
