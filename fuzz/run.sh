#!/usr/bin/env bash
# Fuzzes every target for the given number of seconds each (default 60), on the nightly
# toolchain, growing fuzz/corpus/<target>. A crash is written to fuzz/artifacts/<target>/;
# commit it with its fix, and `cargo test --test fuzz_corpus` replays it on stable for good.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
command -v rustup >/dev/null || { echo "rustup is needed for the nightly toolchain" >&2; exit 1; }
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1
  # Keep the corpus small enough to commit: only inputs that add coverage.
  cargo +nightly fuzz cmin "$target" "fuzz/corpus/$target" >/dev/null 2>&1 || true
done
