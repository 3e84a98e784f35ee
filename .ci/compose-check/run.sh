#!/usr/bin/env bash
# ./dev compose-check: the demo's docker compose deployment, run for real on this machine.
#
# Needs: root (to install Docker and Compose v2 from Debian and start a private engine when
# none answers; with a running engine and Compose v2, any user that may use it), Node 24
# (./dev provides it). Uses the real images where the engine has them; builds local stand-ins
# tagged with their names where no registry answers (see standins.sh). Cleans up what it
# started: the compose project and its volumes, dangling build images, and the engine if it
# started one. Cached between runs: the stand-in images and the build cache.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/.ci/compose-check"
log() { printf 'compose-check: %s\n' "$*" >&2; }
# shellcheck source=engine.sh
. "$HERE/engine.sh"
# shellcheck source=standins.sh
. "$HERE/standins.sh"

CHECK_LOGS=${TMPDIR:-/tmp}/djtasks-compose-check
mkdir -p "$CHECK_LOGS"
# One check at a time on a machine: they share the engine, the project name and the images.
exec 9>"$CHECK_LOGS/lock"
flock -n 9 || { log "another ./dev compose-check is running on this machine (lock $CHECK_LOGS/lock)"; exit 1; }
T0=$SECONDS
ensure_engine
log "engine and Compose v2 ready in $((SECONDS - T0)) s"

export COMPOSE_PROJECT_NAME=djtasks-demo-check
export COMPOSE_FILE="$ROOT/apps/notifications-demo/docker-compose.yml:$HERE/compose.local.yml"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
WEB_PORT=$(free_port)
MAILHOG_SMTP_PORT=$(free_port)
MAILHOG_UI_PORT=$(free_port)
export WEB_PORT MAILHOG_SMTP_PORT MAILHOG_UI_PORT

cleanup() {
  local status=$?
  if [ "$status" != 0 ]; then
    log "failed; the services' last logs:"
    docker compose logs --tail 40 >&2 2>/dev/null || true
  fi
  docker compose down -v --remove-orphans >/dev/null 2>&1 || true
  # Images left untagged by rebuilding the demo image; only on the private engine, where
  # every image is this check's.
  if [ "${DOCKER_HOST:-}" = "unix://$ENGINE_SOCKET" ]; then docker image prune -f >/dev/null 2>&1 || true; fi
  stop_engine
  log "done in $((SECONDS - T0)) s (exit $status)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A project left by an interrupted run goes first.
docker compose down -v --remove-orphans >/dev/null 2>&1 || true

T=$SECONDS
build_standins
log "base images ready in $((SECONDS - T)) s"

T=$SECONDS
log "building the demo image (docker compose build)"
docker compose build --progress plain migrate >"$CHECK_LOGS/build.log" 2>&1 ||
  { tail -40 "$CHECK_LOGS/build.log" >&2; exit 1; }
size=$(docker image inspect -f '{{.Size}}' djtasks-notifications-demo)
base=$(docker image inspect -f '{{.Size}}' node:24-bookworm-slim)
log "demo image built in $((SECONDS - T)) s: djtasks-notifications-demo $((size / 1000000)) MB (base node:24-bookworm-slim $((base / 1000000)) MB, app layers $(((size - base) / 1000000)) MB)"

node "$HERE/check.ts"
