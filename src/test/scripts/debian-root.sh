#!/usr/bin/env bash
# Prints the path of a Debian root for RELEASE holding PACKAGES, built once with debootstrap
# (--variant=minbase) and cached under $TANSA_TEST_CACHE (default /var/cache/tansa-test), keyed
# by what it holds: root-RELEASE-<8 hex of sha256("RELEASE PACKAGES…")>. Concurrent callers wait
# for one build (flock); a failed build leaves nothing behind. Needs root and debootstrap.
# Usage: debian-root.sh RELEASE [PACKAGE...]
set -euo pipefail
release=$1; shift
cache=${TANSA_TEST_CACHE:-/var/cache/tansa-test}
pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s %s' "$release" "$pkgs" | sha256sum | cut -c1-8)
dir="$cache/root-$release-$key"
mkdir -p "$cache/logs"
exec 9>"$cache/.root-$release-$key.lock"
flock 9
if [[ ! -f "$dir/.complete" ]]; then
  rm -rf "$dir.tmp"
  include=(); [[ -n "$pkgs" ]] && include=(--include="$pkgs")
  mirror=${TANSA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  if ! debootstrap --variant=minbase "${include[@]}" "$release" "$dir.tmp" "$mirror" \
      >"$cache/logs/root-$release-$key.log" 2>&1; then
    echo "debian-root.sh: debootstrap $release failed; see $cache/logs/root-$release-$key.log" >&2
    rm -rf "$dir.tmp"; exit 1
  fi
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; touch "$dir/.complete"
fi
echo "$dir"
