# Shared set-up for scripts/test.sh and scripts/cluster.sh: installs what a fresh machine lacks
# (pnpm, Debian's zookeeper package, the workspace's packages) and builds. Each step is skipped
# when its result is already there. Sourced, not run.

TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PNPM_VERSION="12.4.2"

log_setup() { echo "[setup] $*" >&2; }

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then return 0; fi
  log_setup "installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
}

ensure_zookeeper() {
  if [ -f /usr/share/java/zookeeper.jar ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then
    echo "Debian's zookeeper package is missing; install it as root: apt-get install -y zookeeper" >&2
    return 1
  fi
  log_setup "installing Debian's zookeeper package"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null
}

ensure_packages() {
  (cd "$TESSERA_ROOT" && pnpm install --frozen-lockfile --reporter=silent) >&2
}

build_all() {
  log_setup "building"
  (cd "$TESSERA_ROOT" && pnpm exec tsc -b) >&2
}

setup_all() {
  # For developers iterating on an already built tree.
  if [ "${TESSERA_SKIP_SETUP:-0}" = "1" ]; then return 0; fi
  ensure_pnpm
  ensure_zookeeper
  ensure_packages
  build_all
}
