#!/usr/bin/env bash
# Prints the path of a Debian root for RELEASE holding PACKAGES, built once and cached under
# $TANSA_TEST_CACHE (default /var/cache/tansa-test) as root-RELEASE-<8 hex of sha256 of the
# sorted, comma-joined package list>; a package written NAME/SUITE is installed from SUITE
# (e.g. ruby3.4/experimental on sid). Idempotent: a complete root (marker .complete) is reused;
# concurrent callers wait for one build (flock); a failed build leaves nothing behind.
# Needs root, debootstrap and the Debian archive. Usage: ruby-root.sh RELEASE PACKAGE...
set -euo pipefail
release=$1; shift
cache=${TANSA_TEST_CACHE:-/var/cache/tansa-test}
mirror=${TANSA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s' "$pkgs" | sha256sum | cut -c1-8)
dir="$cache/root-$release-$key"
log="$cache/logs/root-$release-$key.log"
mkdir -p "$cache/logs"
exec 9>"$cache/.root-$release-$key.lock"
flock 9
# A root built before the marker existed: complete if every package is installed in it.
if [[ ! -f "$dir/.complete" && -d "$dir/var/lib/dpkg" ]]; then
  ok=1
  for p in "$@"; do chroot "$dir" dpkg -s "${p%%/*}" >/dev/null 2>&1 || ok=0; done
  ((ok)) && touch "$dir/.complete"
fi
if [[ -f "$dir/.complete" ]]; then echo "$dir"; exit 0; fi
plain=(); suites=()
for p in "$@"; do if [[ $p == */* ]]; then suites+=("$p"); else plain+=("$p"); fi; done
tmp="$dir.tmp"
rm -rf "$tmp"
fail() { echo "ruby-root.sh: $1; see $log" >&2; rm -rf "$tmp"; exit 1; }
# minbase, then apt inside the root: debootstrap --include cannot resolve every dependency chain
# (bullseye's gdb needs libsource-highlight's libicu/boost, which it leaves unconfigured).
debootstrap --variant=minbase "$release" "$tmp" "$mirror" >"$log" 2>&1 || fail "debootstrap $release failed"
apt=(env DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get -o Acquire::Check-Valid-Until=false -y -q)
for p in "${suites[@]}"; do
  echo "deb $mirror ${p#*/} main" >"$tmp/etc/apt/sources.list.d/${p#*/}.list"
done
{
  "${apt[@]}" update
  if ((${#plain[@]})); then "${apt[@]}" install --no-install-recommends "${plain[@]}"; fi
  for p in "${suites[@]}"; do "${apt[@]}" -t "${p#*/}" install --no-install-recommends "${p%%/*}"; done
  "${apt[@]}" clean
} >>"$log" 2>&1 || fail "apt-get in the $release root failed"
rm -rf "$dir"; mv "$tmp" "$dir"; touch "$dir/.complete"
echo "$dir"
