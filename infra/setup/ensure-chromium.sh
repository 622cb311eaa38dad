#!/usr/bin/env bash
# Installs Debian's chromium when no Chromium is on the PATH: the report test
# (test/services/cli/report-browser.int.test.ts) opens the HTML report in headless Chromium.
# Needs root (or passwordless sudo) and Debian's package index; prints the browser it found.
set -euo pipefail
find_browser() {
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}
if browser=$(find_browser); then
  echo "chromium: $browser"
  exit 0
fi
sudo=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo='sudo -n'; else
    echo 'chromium is missing and this is not root: install Debian package "chromium"' >&2
    exit 1
  fi
fi
echo 'chromium: installing Debian package "chromium" …'
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
browser=$(find_browser)
echo "chromium: $browser"
