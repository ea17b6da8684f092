#!/usr/bin/env bash
# Makes the SDK installable outside this repository: `pnpm pack` tarballs of @tessera/client and
# the workspace packages it depends on (@tessera/common, @tessera/coord), in DEST (default
# ./var/pack). pnpm pack writes real versions where package.json says `workspace:*`; this script
# checks that no `workspace:` is left in what was packed. Prints one tarball path a line, so
#   npm install $(scripts/pack.sh)
# installs the SDK into the current folder. Installs what is missing and builds first (as
# scripts/test.sh; TESSERA_SKIP_SETUP=1 skips that).
# Usage: scripts/pack.sh [DEST]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
dest="${1:-$TESSERA_ROOT/var/pack}"
setup_all
mkdir -p "$dest" && dest="$(cd "$dest" && pwd)"
# The SDK and its workspace dependencies, dependencies first.
SDK_PACKAGES=(common coord client)
for p in "${SDK_PACKAGES[@]}"; do
  dir="$TESSERA_ROOT/packages/$p"
  name="$(node -p "require('$dir/package.json').name")"
  version="$(node -p "require('$dir/package.json').version")"
  [ -f "$dir/dist/src/index.js" ] || { echo "pack: $dir/dist/src/index.js missing (build with: pnpm exec tsc -b)" >&2; exit 1; }
  (cd "$dir" && pnpm pack --pack-destination "$dest" >/dev/null)
  tarball="$dest/$(echo "$name" | sed 's/^@//; s#/#-#')-$version.tgz"
  [ -f "$tarball" ] || { echo "pack: pnpm pack made no $tarball" >&2; exit 1; }
  if tar -xzOf "$tarball" package/package.json | grep -q '"workspace:'; then
    echo "pack: $tarball still names a workspace: dependency" >&2; exit 1
  fi
  echo "$tarball"
done
