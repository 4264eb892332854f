# shellcheck shell=bash
# Shell helpers shared by scripts/*.sh and tests/system/*.sh. Source it; it defines functions only.

# Messages go to stderr so that a script's stdout stays parseable.
log() { printf '%s\n' "$*" >&2; }
die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

require_root() {
  [[ ${EUID:-$(id -u)} -eq 0 ]] || die "must run as root"
}

require_commands() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]} == 0)) || die "missing commands: ${missing[*]} (run scripts/deps.sh)"
}

# wait_until TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds or TIMEOUT_S seconds pass.
# Bounded in time and in count (at most 10 tries per second). Returns CMD's last status.
wait_until() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout)) tries=$((timeout * 10 + 1))
  while ((tries-- > 0)); do
    "$@" && return 0
    ((SECONDS >= deadline)) && break
    sleep 0.1
  done
  "$@"
}
