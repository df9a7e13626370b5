#!/usr/bin/env bash
# Builds the Containerfile with podman without a container registry, as the tests do:
# - a Debian bookworm base made with debootstrap from the Debian mirror (podman import) stands
#   in for debian:bookworm-slim;
# - that base plus the Swift toolchain's system dependencies stands in for swift:6.1-bookworm;
#   the toolchain itself ($SWIFT_TOOLCHAIN, default the one running this script) and the Swift
#   package mirror, if any, are mounted read-only while the image builds.
#   Examples/container/build-offline.sh [TAG]        (default tag: localhost/deltaflow:test)
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-localhost/deltaflow:test}
work=${DELTAFLOW_CONTAINER_WORK:-/tmp/deltaflow-container}
toolchain=${SWIFT_TOOLCHAIN:-$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Containers in containers: no default ulimits to raise, runc rather than crun where cgroups are
# mixed v1/v2 (a plain machine needs neither).
export CONTAINERS_CONF=${CONTAINERS_CONF:-$work/containers.conf}
mkdir -p "$work"
[ -f "$work/containers.conf" ] || printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
runtime=()
command -v runc >/dev/null && runtime=(--runtime runc)

if ! podman image exists localhost/deltaflow-base:bookworm; then
    rm -rf "$work/root"
    debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log"
    tar -C "$work/root" -c . | podman import - localhost/deltaflow-base:bookworm >/dev/null
    rm -rf "$work/root"
fi
if ! podman image exists localhost/deltaflow-swift-builder:bookworm; then
    podman "${runtime[@]}" build -t localhost/deltaflow-swift-builder:bookworm -f - "$work" <<BUILDER
FROM localhost/deltaflow-base:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    binutils gcc g++ libc6-dev libstdc++-12-dev libcurl4 libxml2 libedit2 libsqlite3-0 libncurses6 \
    libpython3.11 zlib1g-dev git ca-certificates python3 python3-pip pkg-config unzip >/dev/null
ENV PATH=$toolchain/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BUILDER
fi
volumes=(--volume "$toolchain:$toolchain:ro")
[ -d /opt/swift-packages ] && volumes+=(--volume /opt/swift-packages:/opt/swift-packages:ro)
[ -f /etc/gitconfig ] && volumes+=(--volume /etc/gitconfig:/etc/gitconfig:ro)
# A proxy that re-signs TLS (PyPI for the encoder) is trusted inside as it is outside.
[ -f /etc/pip.conf ] && volumes+=(--volume /etc/pip.conf:/etc/pip.conf:ro)
[ -d /opt/wheels ] && volumes+=(--volume /opt/wheels:/opt/wheels:ro)
[ -f /etc/ssl/certs/ca-certificates.crt ] \
    && volumes+=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
podman "${runtime[@]}" build "${volumes[@]}" \
    --build-arg SWIFT_IMAGE=localhost/deltaflow-swift-builder:bookworm \
    --build-arg RUNTIME_IMAGE=localhost/deltaflow-base:bookworm \
    -t "$tag" -f Containerfile .
