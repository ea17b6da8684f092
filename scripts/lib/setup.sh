# Shared set-up for scripts/test.sh, scripts/cluster.sh and scripts/pack.sh: installs what a fresh
# machine lacks (pnpm, Debian's zookeeper package, the workspace's packages) and builds. Each step
# is skipped when its result is already there. Sourced, not run.
#
# Every step stops the set-up at its first failure: `setup_all` returns 1 with one `[setup] FAILED`
# line naming the step, the tail of the failed command's output, and the fix where one is known:
# `dpkg --configure -a` when dpkg says an earlier install was interrupted; apt's lock held by
# another install is waited for (at most TESSERA_APT_LOCK_WAIT_S seconds, default 300) before
# failing with the holder named. Nothing after a failed step runs, so a missing ZooKeeper is
# reported as the apt failure it is, not as a test failure later.

TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PNPM_VERSION="12.4.2"
# Where Debian's zookeeper package puts the server (testkit and scripts/lib/zk.sh run it from there).
TESSERA_ZK_JAR="${TESSERA_ZK_JAR:-/usr/share/java/zookeeper.jar}"
# Bound on the wait for apt's lock while another install runs, and the pause between tries.
TESSERA_APT_LOCK_WAIT_S="${TESSERA_APT_LOCK_WAIT_S:-300}"
TESSERA_APT_LOCK_POLL_S="${TESSERA_APT_LOCK_POLL_S:-5}"
# Lines of a failed command's output repeated in the failure message.
SETUP_OUTPUT_TAIL_LINES=15

log_setup() { echo "[setup] $*" >&2; }

# setup_fail STEP OUTPUT_FILE FIX: the one failure message; returns 1.
setup_fail() {
  local step="$1" out="$2" fix="$3"
  log_setup "FAILED: $step"
  if [ -n "$out" ] && [ -s "$out" ]; then
    tail -n "$SETUP_OUTPUT_TAIL_LINES" "$out" | sed 's/^/[setup]   | /' >&2
  fi
  log_setup "fix: $fix"
  log_setup "set-up stopped at the first failed step; nothing after it ran"
  return 1
}

# run_step STEP FIX CMD...: runs CMD in the repository with its output kept; on failure stops
# with setup_fail.
run_step() {
  local step="$1" fix="$2"; shift 2
  local out rc
  out="$(mktemp)"
  (cd "$TESSERA_ROOT" && "$@") >"$out" 2>&1; rc=$?
  if [ "$rc" -ne 0 ]; then
    setup_fail "$step (exit $rc): $*" "$out" "$fix"
    rm -f "$out"; return 1
  fi
  rm -f "$out"
}

# apt_step STEP ARGS...: `apt-get ARGS` that waits (bounded) for apt's lock and names the fix of
# an interrupted dpkg.
apt_step() {
  local step="$1"; shift
  local out rc waited=0
  out="$(mktemp)"
  while :; do
    DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$out" 2>&1; rc=$?
    [ "$rc" -eq 0 ] && { rm -f "$out"; return 0; }
    if grep -q "dpkg --configure -a" "$out"; then
      setup_fail "$step (exit $rc): apt-get $*" "$out" \
        "an earlier install was interrupted; as root run \`dpkg --configure -a\`, then run this command again"
      rm -f "$out"; return 1
    fi
    if grep -qiE "could not get lock|unable to acquire the dpkg frontend lock|unable to lock" "$out"; then
      if awk -v w="$waited" -v max="$TESSERA_APT_LOCK_WAIT_S" 'BEGIN { exit !(w < max) }'; then
        [ "$waited" = 0 ] && log_setup "apt's lock is held by another install ($(grep -oiE 'held by process [0-9]+( \([^)]*\))?' "$out" | head -n 1 || true)); waiting up to ${TESSERA_APT_LOCK_WAIT_S}s"
        sleep "$TESSERA_APT_LOCK_POLL_S"
        waited="$(awk -v w="$waited" -v p="$TESSERA_APT_LOCK_POLL_S" 'BEGIN { print w + p }')"
        continue
      fi
      setup_fail "$step: apt's lock still held after ${TESSERA_APT_LOCK_WAIT_S}s" "$out" \
        "wait for the other install to finish (see \`ps -C apt-get,dpkg -o pid,etime,args\`), then run this command again; TESSERA_APT_LOCK_WAIT_S sets the wait"
      rm -f "$out"; return 1
    fi
    setup_fail "$step (exit $rc): apt-get $*" "$out" "read apt's error above; as root: apt-get update && apt-get install -y zookeeper"
    rm -f "$out"; return 1
  done
}

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then return 0; fi
  log_setup "installing pnpm $PNPM_VERSION"
  run_step "install pnpm $PNPM_VERSION" "check that npm reaches its registry (npm ping), or install it by hand: npm install -g pnpm@$PNPM_VERSION" \
    npm install -g "pnpm@$PNPM_VERSION" || return 1
  [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ] || \
    setup_fail "install pnpm $PNPM_VERSION" "" "pnpm on PATH ($(command -v pnpm || echo none)) is not $PNPM_VERSION after installing it; put npm's global bin first on PATH"
}

ensure_zookeeper() {
  if [ -f "$TESSERA_ZK_JAR" ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then
    setup_fail "install Debian's zookeeper package" "" "$TESSERA_ZK_JAR is missing; install it as root: apt-get install -y zookeeper"
    return 1
  fi
  log_setup "installing Debian's zookeeper package"
  apt_step "apt-get update" update -qq || return 1
  apt_step "install Debian's zookeeper package" install -y -qq --no-install-recommends zookeeper || return 1
  [ -f "$TESSERA_ZK_JAR" ] || \
    setup_fail "install Debian's zookeeper package" "" "apt-get installed zookeeper but $TESSERA_ZK_JAR is still missing; check \`dpkg -L zookeeper\`"
}

ensure_packages() {
  run_step "install the workspace's packages" "check that pnpm reaches the npm registry, then: pnpm install --frozen-lockfile" \
    pnpm install --frozen-lockfile --reporter=silent
}

build_all() {
  log_setup "building"
  run_step "build" "fix the TypeScript errors above, then: pnpm exec tsc -b" \
    pnpm exec tsc -b
}

setup_all() {
  # For developers iterating on an already built tree.
  if [ "${TESSERA_SKIP_SETUP:-0}" = "1" ]; then return 0; fi
  ensure_pnpm || return 1
  ensure_zookeeper || return 1
  ensure_packages || return 1
  build_all || return 1
}
