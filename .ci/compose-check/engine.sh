# Sourced by run.sh: a Docker engine and Compose v2 for the compose check.
#
# - The docker CLI and dockerd come from Debian's docker.io package when missing.
# - Compose v2 comes from Debian trixie's docker-compose package (Compose 2.26, one static
#   binary; bookworm's 1.29 rejects the compose file's top-level `name:`), fetched with apt
#   pointed at a sources list of its own so the system's apt configuration is left alone.
# - When no engine answers, a private dockerd is started on a socket of its own with
#   --iptables=false (the machine's firewall is left alone). Its data root is kept between
#   runs, so the stand-in base images and the layer cache survive; stop_engine stops only
#   an engine this script started.

ENGINE_HOME=${DJTASKS_DOCKER_HOME:-/var/lib/djtasks-docker}
ENGINE_RUN=/run/djtasks-docker
ENGINE_SOCKET=$ENGINE_RUN/docker.sock
ENGINE_STARTED_PID=

as_root_or_explain() {
  if [ "$(id -u)" != 0 ]; then
    echo "compose-check: $1 is missing and installing it needs root; run as root, or: $2" >&2
    exit 1
  fi
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q "$@" >/dev/null ||
    { timeout 600 apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q "$@" >/dev/null; }
}

ensure_docker_packages() {
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    as_root_or_explain "Docker (docker, dockerd)" "sudo apt-get install -y docker.io"
    log "installing docker.io from Debian"
    apt_install docker.io
  fi
}

# Compose v2 as a CLI plugin, from trixie's docker-compose package.
ensure_compose_plugin() {
  if docker compose version 2>/dev/null | grep -q 'version v\?2'; then return; fi
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  as_root_or_explain "Compose v2 (docker compose)" \
    "install Compose v2 as $plugins/docker-compose (https://docs.docker.com/compose/install/linux/)"
  log "fetching Compose v2 from Debian trixie's docker-compose package"
  local apt_dir
  apt_dir=$(mktemp -d /tmp/djtasks-trixie-apt.XXXXXX)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/deb"
  echo 'deb http://deb.debian.org/debian trixie main' >"$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o 'Dir::Etc::sourceparts=-'
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o 'APT::Get::List-Cleanup=0' -o 'APT::Sandbox::User=root')
  timeout 600 apt-get "${opts[@]}" update -q >/dev/null
  (cd "$apt_dir/deb" && timeout 600 apt-get "${opts[@]}" download -q docker-compose >/dev/null)
  dpkg -x "$apt_dir"/deb/docker-compose_*.deb "$apt_dir/x"
  mkdir -p "$plugins"
  install -m 0755 "$apt_dir/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugins/docker-compose"
  rm -rf "$apt_dir"
  docker compose version >&2
}

engine_answers() { timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_engine() {
  ensure_docker_packages
  if [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ]; then
    if engine_answers; then
      log "using the Docker engine at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
      ensure_compose_plugin
      return
    fi
  fi
  export DOCKER_HOST="unix://$ENGINE_SOCKET"
  if engine_answers; then
    log "using the private Docker engine at $DOCKER_HOST (left running by an earlier run)"
    ensure_compose_plugin
    return
  fi
  as_root_or_explain "a running Docker engine" "start dockerd, or run this as root"
  mkdir -p "$ENGINE_HOME" "$ENGINE_RUN"
  log "starting a private dockerd on $ENGINE_SOCKET (data in $ENGINE_HOME, log in $ENGINE_RUN/dockerd.log)"
  # containerd comes up with dockerd (its own, under exec-root); no iptables rules. fd 9 is
  # run.sh's lock: an engine left running must not hold it.
  dockerd --host "$DOCKER_HOST" --data-root "$ENGINE_HOME/data" --exec-root "$ENGINE_RUN/exec" \
    --pidfile "$ENGINE_RUN/dockerd.pid" --iptables=false --ip6tables=false >"$ENGINE_RUN/dockerd.log" 2>&1 9>&- &
  ENGINE_STARTED_PID=$!
  for _ in $(seq 1 60); do
    engine_answers && break
    kill -0 "$ENGINE_STARTED_PID" 2>/dev/null || { tail -20 "$ENGINE_RUN/dockerd.log" >&2; exit 1; }
    sleep 1
  done
  engine_answers || { echo "compose-check: dockerd did not answer within 60 s" >&2; tail -20 "$ENGINE_RUN/dockerd.log" >&2; exit 1; }
  ensure_compose_plugin
}

stop_engine() {
  [ -n "$ENGINE_STARTED_PID" ] || return 0
  log "stopping the private dockerd (pid $ENGINE_STARTED_PID)"
  kill "$ENGINE_STARTED_PID" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$ENGINE_STARTED_PID" 2>/dev/null || break; sleep 1; done
  # dockerd leaves its default network namespace mounted under the exec root.
  awk -v root="$ENGINE_RUN/" 'index($2, root) == 1 { print $2 }' /proc/mounts | while read -r mount; do
    umount "$mount" 2>/dev/null || true
  done
  ENGINE_STARTED_PID=
}
