#!/usr/bin/env bash
# Headless Chromium for the MLflow UI browser test (tests/sweeps/analysis/test_mlflow_ui.py).
# Idempotent: installs Debian's `chromium` only when /usr/bin/chromium is missing. Playwright's
# Python package drives this executable; never run `playwright install` (it downloads browsers).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
