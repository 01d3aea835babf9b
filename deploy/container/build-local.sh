#!/usr/bin/env bash
# Build the image with no registry at all, run it, and check its health.
#
#   sudo deploy/container/build-local.sh
#
# 1. a Debian bookworm root filesystem from the configured mirror (debootstrap), imported as
#    the local image $BASE_IMAGE (skipped when that image exists);
# 2. `podman build --build-arg BASE=$BASE_IMAGE` of the Dockerfile (docker format: the OCI
#    format has no HEALTHCHECK);
# 3. the image's commands: printer-exporter --version and --dry-run, pull-sync --dry-run
#    against deploy/pull-sync/pull-sync.yml with a key made by printer-archive keygen;
# 4. the exporter in a container, port 9269 published on 127.0.0.1:$HOST_PORT, until
#    `podman healthcheck run` says healthy; /-/healthy and /metrics read through the port;
# 5. a container whose check points at a closed port (HEALTHCHECK_URL) turns unhealthy after
#    the image's start period and retries: the check can fail.
#
# Needs root, podman and debootstrap (apt-get install podman debootstrap; runc is used when
# installed, see RUNTIME). Idempotent: the base image and the debootstrap tree are reused,
# the containers it starts are removed on exit. Every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK_DIR=${WORK_DIR:-/var/tmp/printer-exporter-container}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian-bookworm-base}
IMAGE=${IMAGE:-localhost/printer-exporter:local}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
HOST_PORT=${HOST_PORT:-19269}
# Given to pip in the build only (a TLS-intercepting proxy's CA); not kept in the image.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# crun refuses to set rlimits in some sandboxes where runc, given explicit limits, works.
RUNTIME=${RUNTIME:-$(command -v runc || true)}
NPROC=${NPROC:-4096}
NOFILE=${NOFILE:-$(ulimit -Hn)}
NAME=printer-exporter-local
BROKEN=printer-exporter-local-unhealthy

step() { printf '\n== step %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

for tool in podman debootstrap timeout; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install podman debootstrap)"
done
[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap and rootful podman need it"

podman_global=()
[ -n "$RUNTIME" ] && podman_global+=(--runtime "$RUNTIME")
limits=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")
pm() { timeout 600 podman "${podman_global[@]}" "$@"; }

cleanup() { pm rm --force --ignore "$NAME" "$BROKEN" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

step "1: base image $BASE_IMAGE"
if pm image exists "$BASE_IMAGE"; then
    echo "exists; reused"
else
    rootfs=$WORK_DIR/rootfs-$SUITE
    if [ ! -f "$rootfs/.debootstrap-complete" ]; then
        rm -rf "$rootfs"
        mkdir -p "$WORK_DIR"
        timeout 1800 debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR"
        touch "$rootfs/.debootstrap-complete"
    fi
    tar -C "$rootfs" --exclude=./.debootstrap-complete -c . | pm import - "$BASE_IMAGE"
fi

step "2: podman build $IMAGE (BASE=$BASE_IMAGE)"
build_args=(--format docker --build-arg "BASE=$BASE_IMAGE" --tag "$IMAGE" "${limits[@]}")
[ -s "$CA_BUNDLE" ] && build_args+=(--secret "id=ca-certificates,src=$CA_BUNDLE")
timeout 1800 podman "${podman_global[@]}" build "${build_args[@]}" "$ROOT"
echo "healthcheck: $(pm image inspect --format '{{json .HealthCheck}}' "$IMAGE")"
echo "user: $(pm image inspect --format '{{.Config.User}}' "$IMAGE")"
pm image inspect --format '{{json .HealthCheck}}' "$IMAGE" | grep -q '/-/healthy\|HEALTHCHECK_URL' \
    || fail "the image has no HEALTHCHECK (built in OCI format?)"

step "3: the image's commands"
pm run --rm "${limits[@]}" --network none "$IMAGE" --version
pm run --rm "${limits[@]}" --network none "$IMAGE" \
    --config.file=/etc/printer-exporter/printer-exporter.yml --dry-run
secrets=$(mktemp -d)
trap 'cleanup; rm -rf "$secrets"' EXIT
printf 'pa1_not_a_real_token\n' >"$secrets/pull-sync-token"
chmod 0755 "$secrets"
chmod 0644 "$secrets/pull-sync-token"
pm run --rm "${limits[@]}" --network none -v "$secrets:/keys" --user 0 \
    --entrypoint printer-archive "$IMAGE" keygen --out /keys
chmod 0644 "$secrets"/*
pm run --rm "${limits[@]}" --network none \
    -v "$ROOT/deploy/pull-sync/pull-sync.yml:/etc/pull-sync/pull-sync.yml:ro" \
    -v "$ROOT/deploy/printer-exporter/printer-exporter.yml:/etc/printer-exporter/printer-exporter.yml:ro" \
    -v "$secrets/pull-sync-token:/run/secrets/pull-sync-token:ro" \
    -v "$secrets/archive-signing.pub:/run/secrets/archive-signing.pub:ro" \
    --entrypoint pull-sync "$IMAGE" --config.file=/etc/pull-sync/pull-sync.yml --dry-run

step "4: run the exporter and wait for healthy"
pm run --detach --name "$NAME" "${limits[@]}" -p "127.0.0.1:$HOST_PORT:9269" "$IMAGE"
status=starting
for _ in $(seq 1 30); do
    if pm healthcheck run "$NAME" >/dev/null 2>&1; then
        status=$(pm inspect --format '{{.State.Health.Status}}' "$NAME")
        [ "$status" = healthy ] && break
    fi
    sleep 1
done
pm logs "$NAME" 2>&1 | tail -n 5
echo "health: $status"
[ "$status" = healthy ] || fail "the exporter container did not become healthy"
fetch() { python3 -c 'import sys, urllib.request as u; print(u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=5).read().decode())' "$1"; }
echo "/-/healthy through the published port: $(fetch "http://127.0.0.1:$HOST_PORT/-/healthy")"
fetch "http://127.0.0.1:$HOST_PORT/metrics" | grep -m 3 '^printer_exporter_' \
    || fail "/metrics has no printer_exporter_ series"
echo "runs as: $(pm exec "$NAME" id -u):$(pm exec "$NAME" id -g)"

step "5: a failing check turns the container unhealthy"
pm run --detach --name "$BROKEN" "${limits[@]}" --network none \
    --env HEALTHCHECK_URL=http://127.0.0.1:1/-/healthy \
    "$IMAGE"
# The image's own check, unchanged but for its URL. Failures inside its start period (15s)
# do not count, and podman 4.3 ignores --health-start-period unless --health-cmd is given too.
sleep 16
broken=unknown
for _ in $(seq 1 10); do
    if pm healthcheck run "$BROKEN" >/dev/null 2>&1; then
        fail "the check passed against a closed port"
    fi
    broken=$(pm inspect --format '{{.State.Health.Status}}' "$BROKEN")
    [ "$broken" = unhealthy ] && break
    sleep 1
done
echo "health: $broken"
[ "$broken" = unhealthy ] || fail "a check against a closed port did not make it unhealthy"

printf '\nOK: %s built on %s, ran healthy, and a failing check was seen\n' "$IMAGE" "$BASE_IMAGE"
