# Sourced by the install scripts: `as_root CMD...` runs a command as root, directly when we are
# root (CI, a fresh machine), through sudo otherwise; `AS_ROOT_WHAT` names what needs it.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo --preserve-env=DEBIAN_FRONTEND "$@"
  else
    echo "${AS_ROOT_WHAT:-this step} needs root, and sudo is not available" >&2
    exit 1
  fi
}
