#!/usr/bin/env bash
# Installs the pinned channelattribution package (compiled from its sdist) and its dependencies.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet --root-user-action=ignore --disable-pip-version-check -r requirements.txt
