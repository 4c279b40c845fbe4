#!/usr/bin/env bash
# Installs Postfix and Dovecot from Debian for the tests and the benchmark.
#
#   bash scripts/postfix.sh install
#
# The tests start their own private Postfix and Dovecot instances (test/support/postfix.ts) from a
# temporary directory on 127.0.0.1; this script only puts the binaries on the machine. The system-wide
# services are never left running: postfix is preseeded to "No configuration" (no main.cf, so it
# cannot start on port 25), service starts are refused during the install, and anything the packages
# managed to start anyway is stopped and disabled afterwards.
#
# Idempotent: when the postfix, dovecot and dovecot-lmtp binaries are already there it does nothing.
set -euo pipefail

readonly PACKAGES=(postfix dovecot-core dovecot-lmtpd)
readonly POLICY_RC=/usr/sbin/policy-rc.d

usage() {
  echo "usage: bash scripts/postfix.sh install" >&2
  exit 2
}

installed() {
  command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || return 1
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || return 1
  [ -x /usr/lib/dovecot/lmtp ] || return 1
}

AS_ROOT_WHAT="postfix.sh: installing Postfix"
# shellcheck source=scripts/as-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/as-root.sh"

# Stops and disables a system-wide service if the package started it.
stop_system_service() {
  local name=$1
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl stop "$name" >/dev/null 2>&1 || true
    as_root systemctl disable "$name" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$name" ]; then
    as_root "/etc/init.d/$name" stop >/dev/null 2>&1 || true
  fi
}

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": postfix installs without main.cf and without starting on port 25.
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections

  # Refuse service starts while the packages install, unless the machine already has a policy.
  local own_policy=0
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\n# temporary, from scripts/postfix.sh: no service starts during install\nexit 101\n' \
      | as_root tee "$POLICY_RC" >/dev/null
    as_root chmod 755 "$POLICY_RC"
    own_policy=1
  fi
  local status=0
  {
    as_root apt-get update -q &&
      as_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
  } || status=$?
  if [ "$own_policy" -eq 1 ]; then
    as_root rm -f "$POLICY_RC"
  fi
  if [ "$status" -ne 0 ]; then
    echo "postfix.sh: apt-get failed with status $status" >&2
    exit "$status"
  fi

  stop_system_service postfix
  stop_system_service dovecot
}

case "${1:-}" in
  install)
    if installed; then
      exit 0
    fi
    install_packages
    if ! installed; then
      echo "postfix.sh: postfix or dovecot still missing after apt-get install" >&2
      exit 1
    fi
    echo "postfix.sh: Postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null || echo '?') and Dovecot $(/usr/sbin/dovecot --version 2>/dev/null || echo '?') installed; system services not running"
    ;;
  *)
    usage
    ;;
esac
