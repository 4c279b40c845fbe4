#!/usr/bin/env bash
# Makes sure a Python 3 with the `jsonschema` package is there, for the test that checks the mail
# job's JSON Schema the way a Python producer uses it (test/message/jobJsonSchema.python.test.ts).
#
#   bash scripts/jsonschema.sh install
#
# Idempotent: when `python3` (or Debian's /usr/bin/python3) already imports jsonschema it does
# nothing; otherwise it installs Debian's python3-jsonschema (no PyPI needed).
set -euo pipefail

usage() {
  echo "usage: bash scripts/jsonschema.sh install" >&2
  exit 2
}

AS_ROOT_WHAT="jsonschema.sh: installing python3-jsonschema"
# shellcheck source=scripts/as-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/as-root.sh"

has_jsonschema() {
  local python
  for python in python3 /usr/bin/python3; do
    if command -v "$python" >/dev/null 2>&1 && "$python" -c 'import jsonschema' >/dev/null 2>&1; then
      return 0
    fi
  done
  return 1
}

install() {
  if has_jsonschema; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends python3 python3-jsonschema >/dev/null
  if ! has_jsonschema; then
    echo "jsonschema.sh: apt-get installed python3-jsonschema but no python3 imports it" >&2
    exit 1
  fi
}

[ $# -eq 1 ] || usage
case "$1" in
  install) install ;;
  *) usage ;;
esac
