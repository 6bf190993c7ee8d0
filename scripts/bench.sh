#!/usr/bin/env bash
# Throughput benchmark: outwork (1 thread, all cores) beside the mail-parser
# parse-only floor, on the same files, in one run. Optionally Rspamd and
# SpamAssassin via ../shared/anchors (BENCH_ANCHORS=1).
#
#   scripts/bench.sh [DIR...]     default: ../shared/corpus/phish and the whole corpus
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p outwork -p outwork-engine --example parse_floor
bin=target/release/outwork
floor=target/release/examples/parse_floor
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(../shared/corpus/phish ../shared/corpus)
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
for d in "${dirs[@]}"; do
  echo "== $d"
  # Warm the page cache so every contender reads from memory.
  cat $(find "$d" -type f -name '*.eml' | head -20000) > /dev/null 2>&1 || true
  for round in 1 2; do
    "$floor" "$d"
    "$bin" scan -j 1 --format jsonl --no-progress "$d" 2>&1 >/dev/null | sed 's/^/scan -j1: /' || true
    "$bin" scan --format jsonl --no-progress "$d" 2>&1 >/dev/null | sed 's/^/scan -jN: /' || true
  done
done
if [ "${BENCH_ANCHORS:-0}" = 1 ] && [ -d ../shared/anchors ]; then
  echo "== anchors (Rspamd, SpamAssassin) on ${ANCHOR_DIR:-../shared/anchors/samples}"
  ../shared/anchors/bench.sh "${ANCHOR_DIR:-../shared/anchors/samples}"
fi
