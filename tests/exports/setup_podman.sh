#!/usr/bin/env bash
# Prepare this machine for the container tests of tests/exports (idempotent; called by .ci/run).
#
# - installs podman, buildah, runc and debootstrap from Debian;
# - writes the containers.conf they need here (runc, not crun, which fails on hybrid cgroups here, and explicit
#   ulimits) to $NB2PIPE_CONTAINERS_CONF, and to /etc/containers/containers.conf if there is none;
# - builds the base image the tests use, since no image registry is reachable: a minimal Debian
#   with python3 + venv made by debootstrap from the machine's own Debian mirror, then
#   `podman import`ed as $NB2PIPE_TEST_BASE_IMAGE.
set -euo pipefail

CONF=${NB2PIPE_CONTAINERS_CONF:-/etc/containers/nb2pipe.conf}
BASE_IMAGE=${NB2PIPE_TEST_BASE_IMAGE:-localhost/nb2pipe-test-base:bookworm}
SUITE=bookworm

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for tool in podman buildah runc debootstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup_podman: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi

as_root mkdir -p "$(dirname "$CONF")"
as_root tee "$CONF" >/dev/null <<'CONF'
# Written by tests/exports/setup_podman.sh. crun fails on this machine (hybrid cgroups, no
# setrlimit): use runc, and set the ulimits explicitly.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
if [ ! -e /etc/containers/containers.conf ]; then
    as_root cp "$CONF" /etc/containers/containers.conf
fi
export CONTAINERS_CONF=$CONF

if podman image exists "$BASE_IMAGE"; then
    echo "setup_podman: base image $BASE_IMAGE is there"
    exit 0
fi

# The Debian mirror this machine's apt uses (deb822 sources first, then sources.list).
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
    mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/nb2pipe-rootfs.XXXXXX)
trap 'as_root rm -rf "$rootfs"' EXIT
echo "setup_podman: debootstrap $SUITE from $mirror (about 80 s)"
as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$mirror" >/dev/null
# pip inside image builds reaches PyPI through this machine's TLS proxy: trust the same CAs.
as_root cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | as_root tee "$rootfs/etc/pip.conf" >/dev/null
as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
as_root tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
echo "setup_podman: imported $BASE_IMAGE"
