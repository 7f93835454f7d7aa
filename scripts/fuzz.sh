#!/usr/bin/env bash
# Fuzzes what the server reads from clients: real-time frames, REST bodies, upload bodies.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   run each target (default: all) SECONDS (default 30)
#
# Works on the stable toolchain: cargo-fuzz is installed into target/fuzz-tools when it is
# missing, and the targets are built without a sanitizer; RUSTC_BOOTSTRAP=1 lets stable rustc
# take the coverage flags cargo-fuzz passes. Each run starts from the committed seeds
# (fuzz/seeds/TARGET) and what earlier runs found (fuzz/corpus/TARGET). Any crash fails the
# script; the input that caused it is left in fuzz/artifacts/TARGET. fuzz/README.md says more.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(client_frame rest_bodies multipart)
fi
cargo_fuzz_version=0.13.2
tools=$root/target/fuzz-tools

export PATH=$tools/bin:$PATH
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz $cargo_fuzz_version into $tools" >&2
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" --root "$tools"
fi

export RUSTC_BOOTSTRAP=1
common=(--fuzz-dir "$root/fuzz" --sanitizer none --target-dir "$root/target/fuzz")
cd "$root"
cargo fuzz build "${common[@]}"
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "fuzzing $target for ${seconds}s" >&2
    cargo fuzz run "${common[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzzed ${targets[*]} for ${seconds}s each: no crash" >&2
