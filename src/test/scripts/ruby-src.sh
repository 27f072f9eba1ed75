#!/usr/bin/env bash
# Prints the path of Ruby's source tree as Debian ships it (apt-get source PACKAGE from RELEASE,
# Debian's patches applied), configured so that its internal headers (vm_core.h, iseq.h...)
# compile, for checking layouts with gcc. Cached under $TANSA_TEST_CACHE (default
# /var/cache/tansa-test) as src-PACKAGE-UPSTREAM_VERSION; idempotent (marker .complete).
# Needs dpkg-dev (dpkg-source), gcc, make, a host ruby (BASERUBY) and the Debian archive.
# Usage: ruby-src.sh PACKAGE RELEASE [FALLBACK_VERSION]   e.g. ruby-src.sh ruby3.3 trixie
set -euo pipefail
pkg=$1 release=$2 fallback=${3:-}
cache=${TANSA_TEST_CACHE:-/var/cache/tansa-test}
mirror=${TANSA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache/logs"
exec 9>"$cache/.src-$pkg-$release.lock"
flock 9
for d in "$cache"/src-"$pkg"-*; do
  [[ -f $d/.complete || -f $d/.ext/include/x86_64-linux/ruby/config.h ]] && { touch "$d/.complete"; echo "$d"; exit 0; }
done
work=$(mktemp -d "$cache/.src-$pkg.XXXXXX")
log="$cache/logs/src-$pkg-$release.log"
fail() { echo "ruby-src.sh: $1; see $log" >&2; rm -rf "$work"; exit 1; }
# A private apt configuration holding only deb-src RELEASE, so the host's apt state is untouched.
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/sources.list.d"
echo "deb-src $mirror $release main" >"$work/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts="$work/apt/sources.list.d"
      -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o Acquire::Check-Valid-Until=false)
# The pool of a moving suite (experimental) can lag its index: the version the index names may be
# missing (404) while an earlier one is still there. FALLBACK_VERSION names such a one: its .dsc and
# the files it lists are fetched from the pool directly and unpacked with dpkg-source.
from_pool() {
  local v=$1 base="$mirror/pool/main/${pkg:0:1}/$pkg" f
  (cd "$work" && curl -fsSL -o "${pkg}_$v.dsc" "$base/${pkg}_${v//\~/%7e}.dsc" &&
    for f in $(awk '/^Files:/{on=1;next} /^[^ ]/{on=0} on{print $3}' "${pkg}_$v.dsc"); do
      curl -fsSL -o "$f" "$base/${f//\~/%7e}" || exit 1
    done &&
    dpkg-source --no-check -x "${pkg}_$v.dsc")
}
{
  apt-get "${opts[@]}" update
  (cd "$work" && apt-get "${opts[@]}" source "$pkg") ||
    { [[ -n $fallback ]] && echo "apt-get source failed; trying $pkg $fallback from the pool" && from_pool "$fallback"; }
} >"$log" 2>&1 || fail "apt-get source $pkg ($release${fallback:+, or $fallback from the pool}) failed"
src=$(find "$work" -maxdepth 1 -type d -name "$pkg-*" | head -1)
[[ -n $src ]] || fail "no source tree"
ver=${src##*/$pkg-}
dest="$cache/src-$pkg-$ver"
(cd "$src" && ./configure --enable-shared --disable-yjit --disable-install-doc --disable-rubygems) \
  >"$cache/logs/conf-src-$pkg-$ver.log" 2>&1 || fail "configure failed"
rm -rf "$dest"; mv "$src" "$dest"; rm -rf "$work"; touch "$dest/.complete"
echo "$dest"
