#!/usr/bin/env bash
# Installs the pinned scipy and statsmodels into tests/reference/.venv, for make_expected.py.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
