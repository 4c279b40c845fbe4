#!/usr/bin/env bash
# Installs Debian's Chromium for the headless-browser test of the local run's web page.
#
#   bash scripts/chromium.sh install
#
# The test drives it with playwright-core (executablePath /usr/bin/chromium); no browser build is
# ever downloaded. Idempotent: when /usr/bin/chromium is already there it does nothing.
set -euo pipefail

readonly BROWSER=/usr/bin/chromium

usage() {
  echo "usage: bash scripts/chromium.sh install" >&2
  exit 2
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo --preserve-env=DEBIAN_FRONTEND "$@"
  else
    echo "chromium.sh: installing Chromium needs root, and sudo is not available" >&2
    exit 1
  fi
}

install() {
  if [ -x "$BROWSER" ]; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  if [ ! -x "$BROWSER" ]; then
    echo "chromium.sh: apt-get installed chromium but $BROWSER is missing" >&2
    exit 1
  fi
}

[ $# -eq 1 ] || usage
case "$1" in
  install) install ;;
  *) usage ;;
esac
