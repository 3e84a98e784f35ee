# Sourced by run.sh: local stand-ins for the base images the demo's Dockerfile and compose
# file name, for machines that reach no image registry. They are built from Debian's own
# packages and the npm registry, tagged with the real names (node:24-bookworm-slim,
# postgres:16-alpine, mailhog/mailhog:v1.0.1) and kept in the engine between runs. Each
# carries a label with a hash of the files it was built from; it is rebuilt when they change.
# On a machine that has the real images (or can pull them), nothing here runs.

STANDINS_DIR="$ROOT/.ci/compose-check/standins"
STANDIN_BASE=djtasks-standin/debian:bookworm

image_label() { docker image inspect -f "{{ index .Config.Labels \"djtasks.standin\" }}" "$1" 2>/dev/null || true; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# A Debian bookworm root filesystem (debootstrap, minbase), imported as an image.
build_debian_base() {
  image_exists "$STANDIN_BASE" && return
  if ! command -v debootstrap >/dev/null 2>&1; then
    as_root_or_explain debootstrap "sudo apt-get install -y debootstrap"
    apt_install debootstrap
  fi
  local rootfs started=$SECONDS
  rootfs=$(mktemp -d /var/tmp/djtasks-rootfs.XXXXXX)
  log "debootstrap: Debian bookworm (minbase) into $rootfs"
  timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-minimal"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$STANDIN_BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  log "$STANDIN_BASE imported in $((SECONDS - started)) s"
}

# build_standin TAG DOCKERFILE CONTEXT HASH
build_standin() {
  local tag=$1 dockerfile=$2 context=$3 hash=$4
  if [ "$(image_label "$tag")" = "$hash" ]; then return; fi
  if image_exists "$tag" && [ -z "$(image_label "$tag")" ]; then
    log "$tag is a real image here (no stand-in label): using it"
    return
  fi
  log "building the stand-in $tag"
  local started=$SECONDS
  docker build --network host --label "djtasks.standin=$hash" -t "$tag" -f "$dockerfile" "$context" \
    >"$CHECK_LOGS/standin-build.log" 2>&1 || { tail -40 "$CHECK_LOGS/standin-build.log" >&2; exit 1; }
  log "$tag built in $((SECONDS - started)) s"
}

build_standins() {
  local node_tag=node:24-bookworm-slim pg_tag=postgres:16-alpine mail_tag=mailhog/mailhog:v1.0.1
  # Real images (pulled or loaded by the user) win; stand-ins only fill the gaps.
  local need=0
  for tag in $node_tag $pg_tag $mail_tag; do
    if ! image_exists "$tag" || [ -n "$(image_label "$tag")" ]; then need=1; fi
  done
  [ "$need" = 1 ] || return 0
  build_debian_base

  local node_bin npm_dir ctx hash
  node_bin=$(command -v node)
  npm_dir=$(npm root -g 2>/dev/null)/npm
  [ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir=/usr/lib/node_modules/npm
  [ -f "$npm_dir/bin/npm-cli.js" ] || { echo "compose-check: npm not found to put in the node stand-in" >&2; exit 1; }
  ctx=$(mktemp -d /tmp/djtasks-standin.XXXXXX)
  mkdir -p "$ctx/node/bin"
  cp "$node_bin" "$ctx/node/bin/node"
  cp -r "$npm_dir" "$ctx/npm"
  # The machine's CA bundle: the npm registry may be reached through a proxy of its own.
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  cp "$STANDINS_DIR"/* "$ctx/"
  hash=$( (node --version; cat "$STANDINS_DIR"/* "$ctx/ca-certificates.crt") | sha256sum | cut -c1-16)
  build_standin $node_tag "$ctx/node.Dockerfile" "$ctx" "$hash"
  build_standin $pg_tag "$ctx/postgres.Dockerfile" "$ctx" "$hash"
  build_standin $mail_tag "$ctx/mailhog.Dockerfile" "$ctx" "$hash"
  rm -rf "$ctx"
}
