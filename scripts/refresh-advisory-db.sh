#!/usr/bin/env bash
# Refresh the vendored RustSec advisory snapshot (deny/advisory-db) from a checkout of
# https://github.com/rustsec/advisory-db, on any machine that can reach it:
#
#   git clone --depth 1 https://github.com/rustsec/advisory-db /tmp/advisory-db
#   scripts/refresh-advisory-db.sh /tmp/advisory-db
#
# Kept small: only the advisories of crates in Cargo.lock (plus INDEX, every crate name the
# database has advisories for, so scripts/deny.sh can tell when a new dependency needs a
# refresh). Commit the result; scripts/deny.sh checks against it offline.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:?usage: scripts/refresh-advisory-db.sh <advisory-db checkout>}"
[ -d "$src/crates" ] || { echo "$src has no crates/ directory: not an advisory-db checkout" >&2; exit 1; }
out=deny/advisory-db
rm -rf "$out"
mkdir -p "$out/crates"
ls "$src/crates" | sort > "$out/INDEX"
sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u | comm -12 - "$out/INDEX" | while read -r crate; do
  mkdir -p "$out/crates/$crate"
  cp "$src/crates/$crate"/*.md "$out/crates/$crate/"
done
{
  echo "commit $(git -C "$src" log -1 --format=%H)"
  echo "date $(git -C "$src" log -1 --format=%cI)"
} > "$out/SNAPSHOT"
echo "vendored $(find "$out/crates" -name '*.md' | wc -l) advisories for $(ls "$out/crates" | wc -l) locked crates; $(cat "$out/SNAPSHOT" | tr '\n' ' ')"
