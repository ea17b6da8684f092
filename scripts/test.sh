#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the tap suites of every package, and
# ends with one line `N passed, N failed` (N counts test files; tap's own summary is above it).
# Usage: scripts/test.sh [tap file filter...]   e.g. scripts/test.sh storage
set -uo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$TESSERA_ROOT"
setup_all || { echo "0 passed, 1 failed"; exit 1; }

files=()
while IFS= read -r f; do files+=("$f"); done < <(ls packages/*/dist/test/*.test.js packages/*/dist/test/**/*.test.js 2>/dev/null | sort -u)
if [ "$#" -gt 0 ]; then
  filtered=()
  for f in "${files[@]}"; do for pat in "$@"; do [[ "$f" == *"$pat"* ]] && { filtered+=("$f"); break; }; done; done
  files=("${filtered[@]}")
fi
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found"; echo "0 passed, 1 failed"; exit 1; fi

out="$(mktemp)"
# Three jobs on two cores: a test file spends about a third of its time waiting (ZooKeeper
# sessions, op steps, failover timers), and a third job fills that. Measured from fresh clones
# (docs/benchmarks.md, "CI's own time"): two jobs 642-691 s quiet and 880-967 s beside a benchmark
# loop, three 561 s and 778 s, every test passing.
# The test files are compiled JavaScript: tap's TypeScript plugin need not load ts-node into each
# test process (TAP_TS_LOADER=off, patches/@tapjs__typescript@3.5.12.patch), ~0.4 CPU s a file.
export TAP_TS_LOADER="${TAP_TS_LOADER:-off}"
pnpm exec tap --disable-coverage --reporter=tap --jobs="${TESSERA_TEST_JOBS:-3}" --timeout="${TESSERA_TEST_TIMEOUT_S:-900}" \
  "${files[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary="$(grep -E '^# \{ total: ' "$out" | tail -n 1)"
pass="$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")"
fail="$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")"
skip="$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")"
pass=${pass:-0}; fail=${fail:-0}; skip=${skip:-0}
# Skipped tests (no browser, not root, ...) are not failures; each says why above.
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
rm -f "$out"
[ "$skip" -eq 0 ] || echo "$skip skipped (the reasons are in the output above: grep SKIP)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
