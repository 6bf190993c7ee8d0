#!/usr/bin/env bash
# Build the outwork Debian package:
#   packaging/build-deb.sh [--deb-version VERSION] [--out DIR]
# 1. the release binary without debug info (a no-op when .ci/run built it),
# 2. man pages and shell completions from the CLI's own definition
#    (`outwork generate`, clap_mangen / clap_complete),
# 3. /etc/outwork/outwork.toml from the commented example (make-config.sh),
#    checked with `outwork config check`,
# 4. `cargo deb --no-build` (crates/outwork/Cargo.toml [package.metadata.deb];
#    installs cargo-deb first if it is missing).
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
deb_version=""
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deb-version) deb_version="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--deb-version VERSION] [--out DIR]" >&2; exit 2 ;;
  esac
done
# As .ci/run builds the release binary, so it is reused, not rebuilt.
export CARGO_INCREMENTAL=0 CARGO_PROFILE_RELEASE_DEBUG=0
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
export CARGO_TARGET_DIR="$target"
out_dir="${out_dir:-$target/debian}"

if ! cargo deb --version >/dev/null 2>&1; then
  echo "== installing cargo-deb" >&2
  env -u CARGO_TARGET_DIR cargo install cargo-deb --locked >&2
fi

cargo build --release --locked -q -p outwork >&2
bin="$target/release/outwork"
gen="$target/release/deb"
rm -rf "$gen"
mkdir -p "$gen/man" "$gen/completions" "$out_dir"

packaging/make-config.sh > "$gen/outwork.toml"
"$bin" config check "$gen/outwork.toml" >&2

"$bin" generate man "$gen/man"
gzip -9n "$gen/man"/*.1
for sh in bash zsh fish; do
  "$bin" generate completions "$sh" "$gen/completions" >/dev/null
done

args=(-p outwork --no-build --strip --no-dbgsym --no-separate-debug-symbols -o "$out_dir")
[ -n "$deb_version" ] && args+=(--deb-version "$deb_version")
cargo deb "${args[@]}" | tail -1
