#!/usr/bin/env bash
# Prints the prefix of a Ruby built from source the way ruby-build/rbenv builds it: static (the VM
# linked into the `ruby` executable, no libruby.so), full DWARF (Ruby's default -ggdb3), YJIT when
# rustc is found. The source is Debian's tree of PACKAGE from RELEASE as ruby-src.sh prepares it
# (copied, the cached tree stays untouched). Built once and cached under $TANSA_TEST_CACHE (default
# /var/cache/tansa-test) as build-PACKAGE-VERSION-<8 hex of sha256 of the configure options>;
# idempotent (marker .complete), concurrent callers wait for one build (flock), a failed build
# leaves nothing behind. ~10 minutes on 2 cores. Needs gcc, make, a host ruby (BASERUBY), rustc
# (for YJIT), zlib1g-dev, libssl-dev, libyaml-dev, libffi-dev.
# Usage: ruby-build.sh PACKAGE RELEASE [CONFIGURE_OPTION...]
#   e.g. ruby-build.sh ruby3.3 trixie --disable-shared      (options default to --disable-shared)
set -euo pipefail
pkg=$1 release=$2; shift 2
(($#)) || set -- --disable-shared
cache=${TANSA_TEST_CACHE:-/var/cache/tansa-test}
here=$(cd "$(dirname "$0")" && pwd)
# rustup installs rustc under ~/.cargo/bin, which a non-login shell may not have on its PATH
[[ -d $HOME/.cargo/bin ]] && PATH=$PATH:$HOME/.cargo/bin
src=$("$here/ruby-src.sh" "$pkg" "$release")
ver=${src##*/src-$pkg-}
key=$(printf '%s\n' "$@" | sha256sum | cut -c1-8)
dest="$cache/build-$pkg-$ver-$key"
log="$cache/logs/build-$pkg-$ver-$key.log"
mkdir -p "$cache/logs"
exec 9>"$cache/.build-$pkg-$ver-$key.lock"
flock 9
if [[ -f $dest/.complete ]]; then echo "$dest"; exit 0; fi
work="$dest.work"
rm -rf "$work" "$dest"
fail() { echo "ruby-build.sh: $1; see $log" >&2; rm -rf "$work" "$dest"; exit 1; }
# The prefix is compiled into ruby (its load path), so it is installed where it stays: $dest.
cp -a "$src" "$work" || fail "cannot copy $src"
rm -f "$work/.complete"
# Debian's patches touch configure.ac after the tarball's configure was made: without autoconf
# here, make would try to regenerate configure. The tarball's configure is what ruby-build runs.
touch "$work/configure"
# configure overwrites the tree's configuration (ruby-src.sh's --enable-shared); no distclean, which
# would first rerun that configuration. Debian's orig tarball has no gems/*.gem: install would try
# to fetch the bundled gems.
: >"$work/gems/bundled_gems"
{
  printf 'configure options: %s\n' "$*"
  (cd "$work" && ./configure --prefix="$dest" --disable-install-doc "$@")
  make -C "$work" -j"$(nproc)"
  make -C "$work" install
} >"$log" 2>&1 || fail "build of $pkg $ver ($*) failed"
"$dest/bin/ruby" -e 'exit 0' >>"$log" 2>&1 || fail "the built ruby does not run"
printf '%s\n' "$@" >"$dest/.options"
rm -rf "$work"; touch "$dest/.complete"
echo "$dest"
