#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (moto, the AWS SSM
# emulator, into a project-local virtualenv), then runs every test. Nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-moto.sh
# An independent HCL2 parser, to check the tfvars editor's output (tests/tfvars_shapes.rs).
.venv/bin/python -m pip install --quiet --disable-pip-version-check "python-hcl2==8.1.4"
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
# Tests never reach beyond loopback: no instance metadata, no real credentials.
export AWS_EC2_METADATA_DISABLED=true

cargo test --locked --all-targets
