#!/usr/bin/env bash
# Install headless Chromium + chromedriver (Debian packages) for the browser tests
# (pytest -m browser). Run as root or with sudo; safe to run twice.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "chromium and chromedriver already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver
chromium --version
chromedriver --version
