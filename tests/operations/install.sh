#!/usr/bin/env bash
# Installs the Python packages the operations tests check tenure with (see requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$here/requirements.txt"
