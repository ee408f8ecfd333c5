#!/usr/bin/env bash
# A Debian bookworm base image built locally with debootstrap and imported into podman, for
# machines that reach Debian's mirrors but not Docker Hub. Kept between runs: done once.
#   deploy/base-image.sh [IMAGE]     (default localhost/nhs-assistant-base:bookworm)
set -euo pipefail
image="${1:-localhost/nhs-assistant-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if podman image exists "$image"; then
  echo "base image $image: present"
  exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "base image $image: debootstrap bookworm (about a minute)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "base image $image: built"
