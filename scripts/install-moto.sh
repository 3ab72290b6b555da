#!/usr/bin/env sh
# Installs moto (a local AWS mock server) into the project's .venv for the AWS SSM and Secrets
# Manager tests.
# Idempotent: does nothing when the pinned version is already there. Needs python3 with venv.
# The tests find the server at $MOTO_SERVER, else at .venv/bin/moto_server.
set -eu

MOTO_VERSION=5.2.5

cd "$(dirname "$0")/.."

if [ -x .venv/bin/moto_server ] &&
    .venv/bin/python -c "import sys, importlib.metadata as m; import moto.ssm.models, moto.secretsmanager.models; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
    exit 0
fi

if ! python3 -m venv .venv; then
    echo "install-moto.sh: 'python3 -m venv' failed: install Python 3 with venv (e.g. apt-get install python3-venv)" >&2
    exit 1
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "moto[server,ssm,secretsmanager]==$MOTO_VERSION"
echo "moto $MOTO_VERSION installed in .venv (server: .venv/bin/moto_server)" >&2
