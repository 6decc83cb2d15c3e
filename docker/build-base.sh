#!/usr/bin/env bash
# Builds the node's base image offline, from Debian's packages, for machines that
# cannot pull from a container registry: debootstrap a minimal bookworm root file
# system with what the node and the nemesis need, then `docker import` it.
#
#   docker/build-base.sh TAG [MIRROR]
#
# TAG is the image tag to create (e.g. raftquake-base:bookworm-<hash>). MIRROR
# defaults to the first Debian mirror in the host's apt sources, so it works
# behind whatever package mirror the host itself uses.
set -euo pipefail

TAG=${1:?usage: build-base.sh TAG [MIRROR]}
MIRROR=${2:-}
SUITE=bookworm
# python3: the node; iptables + iproute2 (tc): partitions and netem;
# libfaketime + faketime: clock faults; procps: pgrep/ps for kill and restart;
# etcd-server: etcd 3.4, the first third-party system under test (harness/systems/etcd.py),
# on this same base so that its image is one small layer more (docker/etcd.Dockerfile).
PACKAGES=python3,iptables,iproute2,libfaketime,faketime,procps,etcd-server

if [ -z "$MIRROR" ]; then
    # Only enabled source files (*.list, *.sources), and only a plain Debian archive.
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -oE '^(URIs:|deb) +https?://[^ ]+' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "build-base: installing debootstrap" >&2
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    else
        echo "build-base: debootstrap is missing; install it (apt-get install debootstrap) and retry" >&2
        exit 4
    fi
fi

# Build in memory when there is room: dpkg syncs every file it unpacks, and on a
# disk that made the base take twice as long (272 s vs 142 s measured here).
TMPROOT=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ] && \
   [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 1048576 ] 2>/dev/null; then
    TMPROOT=/dev/shm
fi
ROOT=$(mktemp -d "$TMPROOT/raftquake-rootfs.XXXXXX")
trap 'rm -rf "$ROOT" "$ROOT.log"' EXIT
trap 'exit 130' INT TERM  # so the EXIT trap frees the root (it may be in memory)

echo "build-base: debootstrap $SUITE from $MIRROR into $ROOT" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
    echo "build-base: debootstrap failed; last lines of its log:" >&2
    tail -n 30 "$ROOT.log" >&2
    rm -f "$ROOT.log"
    exit 4
}
rm -f "$ROOT.log"

# Slim the image: package caches, lists, docs and manuals are never used inside.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
# iptables: the legacy backend works in a container on any host kernel, where
# nft may lack modules or clash with the host's rules (see README).
chroot "$ROOT" update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
chroot "$ROOT" update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null

echo "build-base: docker import of the root file system" >&2
tar --numeric-owner -C "$ROOT" -c . | docker import \
    -c 'ENV LANG=C.UTF-8' -c 'LABEL raftquake.image=base' -c 'CMD ["/bin/bash"]' \
    -m "raftquake offline base: debootstrap $SUITE minbase + $PACKAGES" \
    - "$TAG" >/dev/null
echo "build-base: imported $TAG" >&2
