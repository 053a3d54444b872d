#!/usr/bin/env bash
# Installs the Debian packages goship's demo and test-bed use, when missing.
# Safe to run again: it installs only what is absent.
set -euo pipefail

packages=(
  docker.io          # dockerd + containerd + runc (the engine the demo and tests use)
  caddy              # the proxy binary, imported as the caddy:2 image offline
  docker-registry    # a real OCI registry for push/pull tests
  openssh-server openssh-client  # remote test hosts and goship's SSH executor
  iproute2           # network namespaces for remote test hosts
  hey                # HTTP load during deploys
  skopeo             # an independent client to check pushed images
  oci-image-tool     # validates OCI image layouts the tests write
  busybox-static     # shell of the offline golang:*/alpine stand-in base images
  git curl ca-certificates python3-venv
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "missing packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
