#!/usr/bin/env bash
# What the browser test needs: Debian's chromium (never a browser download: Playwright drives it
# through executable_path) and Playwright for Python (requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v chromium >/dev/null; then
  apt-get install -y chromium >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$here/requirements.txt"
