#!/usr/bin/env bash
# Prints the path of Ruby's source tree as Debian ships it (apt-get source PACKAGE from RELEASE,
# Debian's patches applied), configured so that its internal headers (vm_core.h, iseq.h...)
# compile, for checking layouts with gcc. Cached under $TANSA_TEST_CACHE (default
# /var/cache/tansa-test) as src-PACKAGE-UPSTREAM_VERSION; idempotent (marker .complete).
# Needs dpkg-dev (dpkg-source), gcc, make, a host ruby (BASERUBY) and the Debian archive.
# Usage: ruby-src.sh PACKAGE RELEASE       e.g. ruby-src.sh ruby3.3 trixie
set -euo pipefail
pkg=$1 release=$2
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
{
  apt-get "${opts[@]}" update
  (cd "$work" && apt-get "${opts[@]}" source "$pkg")
} >"$log" 2>&1 || fail "apt-get source $pkg ($release) failed"
src=$(find "$work" -maxdepth 1 -type d -name "$pkg-*" | head -1)
[[ -n $src ]] || fail "no source tree"
ver=${src##*/$pkg-}
dest="$cache/src-$pkg-$ver"
(cd "$src" && ./configure --enable-shared --disable-yjit --disable-install-doc --disable-rubygems) \
  >"$cache/logs/conf-src-$pkg-$ver.log" 2>&1 || fail "configure failed"
rm -rf "$dest"; mv "$src" "$dest"; rm -rf "$work"; touch "$dest/.complete"
echo "$dest"
