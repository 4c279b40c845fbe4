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

AS_ROOT_WHAT="chromium.sh: installing Chromium"
# shellcheck source=scripts/as-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/as-root.sh"

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
