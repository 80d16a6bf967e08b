#!/bin/sh
# Installs what building and testing tarn needs, and only what is missing.
# Idempotent: a second run installs nothing. Debian 12 (bookworm); run as
# root or with sudo available.
set -eu

packages="
  gcc
  meson
  ninja-build
  pkg-config
  libglib2.0-dev
  libyaml-dev
  libcriterion-dev
  libopenmpi-dev
  openmpi-bin
  valgrind
  libjemalloc2
  libmimalloc2.0
"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "setup: all build and test dependencies are installed"
	exit 0
fi

echo "setup: installing:$missing"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "setup: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
echo "setup: done"
