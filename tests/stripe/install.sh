#!/usr/bin/env bash
# Installs the official Stripe library that sign.py signs test payloads with (see requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$here/requirements.txt"
