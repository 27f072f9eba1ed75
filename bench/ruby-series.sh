#!/usr/bin/env bash
# Extra time per hit with Ruby frames on every Ruby series tansa knows, each interpreter Debian's
# own in a debootstrap root of its release (2.7 bullseye, 3.3 trixie, 3.4 sid/experimental; 3.1 is
# the host's bookworm Ruby), as a container runs it: tansa callers outside the root (copy mode, the
# Ruby frames snapshotted in the kernel, and --mode stop) vs the seed's gdb way (break crc32_z,
# call rb_backtrace(), continue; the host's gdb with `set sysroot ROOT`, as on a container host —
# the root's own gdb, chroot'ed, misplaces the breakpoint), on bench/ruby_series_hits.rb, same run,
# rounds interleaved. Prints, per series, medians and the gdb/tansa ratio. Also a static 3.3.8 built
# from source (src/test/scripts/ruby-build.sh: --disable-shared, YJIT; ~10 minutes on first use),
# interpreted and with --yjit --yjit-perf, on the host.
# Usage: bench/ruby-series.sh [HITS=300] [REPS=3]   (root; debootstrap on first use: minutes per root)
#        SERIES="3.3-static 3.3-static-yjit" bench/ruby-series.sh ...   (only those)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
hits=${1:-300}; reps=${2:-3}
out=$PWD/bench/out; mkdir -p "$out"
bin/tansa --version >/dev/null # build once, outside the measurement

# series → "root executable" (root "/" for the host's Ruby)
declare -A where=(
  [3.1]="/ ruby"
  [2.7]="$(src/test/scripts/ruby-root.sh bullseye gdb ruby2.7 ruby-bcrypt) ruby2.7"
  [3.3]="$(src/test/scripts/ruby-root.sh trixie gdb ruby3.3 ruby-bcrypt) ruby3.3"
  [3.4]="$(src/test/scripts/ruby-root.sh sid gdb ruby3.4/experimental) ruby3.4"
)
static=$(src/test/scripts/ruby-build.sh ruby3.3 trixie --disable-shared)/bin/ruby
where[3.3-static]="/ $static"
where[3.3-static-yjit]="/ $static --yjit --yjit-perf"

# in_root ROOT CMD... : CMD chroot'ed into ROOT with a /proc of its own mount namespace
in_root() {
  local root=$1; shift
  if [[ $root == / ]]; then "$@"; else unshare --mount sh -c 'mount -t proc proc "$0/proc" && exec chroot "$@"' "$root" "$root" "$@"; fi
}

run_one() { # $1 = mode → prints "loop_ns captured"; uses $root $exe
  local go="$root/tmp/tansa-bench-go.$$" log="$out/log.$$" res="$out/res.$$" txt="$out/txt.$$"
  rm -f "$go" "$res" "$txt"
  local pid; start_target "$res" in_root "$root" "$exe" $args /tmp/ruby_series_hits.rb "$hits" "/tmp/tansa-bench-go.$$"
  pid=$(sed -n 's/^ready //p' "$res") # the interpreter's own pid (the same outside: no pid namespace)
  case "$1" in
    none) touch "$go" ;;
    copy|stop)
      bin/tansa callers -p "$pid" -n 0 --rate 0 -d 10m --mode "$1" crc32_z >"$txt" 2>"$log" &
      await_line "$log" probing
      touch "$go" ;;
    gdb)
      printf 'set pagination off\nset breakpoint pending off\nbreak crc32_z\ncommands\nsilent\ncall (void)rb_backtrace()\ncontinue\nend\nshell touch %s\ncontinue\n' "$go" > "$root/tmp/tansa-bench-gdb.cmds"
      gdb -q -batch -ex "set sysroot $root" -p "$pid" -x "$root/tmp/tansa-bench-gdb.cmds" >/dev/null 2>&1 & ;;
  esac
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  wait 2>/dev/null || true
  echo "$(sed -n 's/^elapsed_ns \([0-9]*\).*/\1/p' "$res") $(ruby_captured "$txt" "$log")"
  rm -f "$go" "$log" "$res" "$txt" "/tmp/perf-$pid.map" # the map --yjit-perf writes
}

echo "hits per run: $hits, runs: $reps interleaved per series (medians; extra = median of per-round differences); captured = hits with their Ruby frames"
for series in ${SERIES:-2.7 3.1 3.3 3.4 3.3-static 3.3-static-yjit}; do
  read -r root exe args <<<"${where[$series]}"
  [[ $root == / ]] || cp bench/ruby_series_hits.rb "$root/tmp/"
  [[ $root == / ]] && { mkdir -p /tmp; cp bench/ruby_series_hits.rb /tmp/; }
  echo "== Ruby $series ($(in_root "$root" "$exe" -e 'print RUBY_VERSION'), root $root${args:+, $args})"
  run_modes none copy stop gdb
  print_modes none copy stop gdb
  echo "gdb+rb_backtrace / tansa per-hit cost on $series: copy mode $(ratio gdb copy), stop mode $(ratio gdb stop)"
done
