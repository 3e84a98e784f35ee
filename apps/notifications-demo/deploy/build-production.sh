#!/bin/sh
# Build the demo's production tree into OUT: what the Docker image runs, and what
# test/production-tree.test.ts starts without Docker.
#
#   apps/notifications-demo/deploy/build-production.sh OUT     (from anywhere in the workspace)
#
# Needs the workspace installed with dev dependencies (tsc). Steps:
#  1. compile the workspace packages the app uses to JavaScript (their `dist/`): Node refuses
#     to strip types from files under node_modules, and a deployed package lives there;
#  2. `pnpm deploy --prod`: the app with only its production dependencies, the workspace
#     packages copied in (not linked), so OUT is self-contained and can be moved;
#  3. give the copied packages their published manifests (`publishConfig`: exports to dist),
#     which pnpm deploy does not apply (https://github.com/pnpm/pnpm/issues/6693).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "build-production: $OUT exists and is not empty" >&2
  exit 1
fi

cd "$ROOT"
pnpm --filter "notifications-demo^..." --reporter=append-only run build >&2
pnpm --filter notifications-demo --reporter=append-only deploy --prod "$OUT" >&2
node "$HERE/apply-publish-config.ts" "$OUT"
