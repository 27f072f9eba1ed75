#!/usr/bin/env bash
# Time from start to the first stack: `tansa callers -n 1` (starts, attaches, prints one stack,
# exits) vs gdb's attach → break → continue → first `bt`, on one running process per workload:
# Ruby + bcrypt (crypt_ra) and bench/hits.c (target, with work between calls). Wall time of the
# whole command, REPS times each, one workload at a time (each keeps a core busy); prints the
# medians and the ratio. The packaged tansa (bin/package's tarball, unpacked and trained, so it
# starts from its AOT cache) is timed in the same rounds.
# Usage: bench/first-stack.sh [REPS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
reps=${1:-5}
out=bench/out; mkdir -p "$out"
bin/tansa --version >/dev/null # build once, outside the measurement
bin/package --out "$out/dist" >/dev/null 2>&1
rm -rf "$out/pkg"; mkdir -p "$out/pkg"
tar -xzf "$out"/dist/tansa-*-linux-x86_64.tar.gz -C "$out/pkg"
packaged=$(echo "$out"/pkg/tansa-*/bin/tansa)
"${packaged%/bin/tansa}/lib/tansa/train"
gcc -O2 -g -o "$out/hits" bench/hits.c

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$out"/fs.*.$$; }
trap cleanup EXIT

ms_of() { # CHECK CMD... : runs CMD, checks its output has CHECK, prints its wall time in ms
  local check=$1; shift
  local s e; s=$(date +%s%N); "$@" >"$out/fs.out.$$" 2>&1 || true; e=$(date +%s%N)
  grep -q -- "$check" "$out/fs.out.$$" || { echo "no stack from: $*" >&2; cat "$out/fs.out.$$" >&2; exit 1; }
  echo $(( (e - s) / 1000000 ))
}

row() { # LABEL PID SYMBOL: the three tools in turn, REPS rounds, medians
  local label=$1 pid=$2 sym=$3 t p g i
  : > "$out/fs.t.$$"; : > "$out/fs.p.$$"; : > "$out/fs.g.$$"
  for ((i = 0; i < reps; i++)); do
    ms_of "$sym" bin/tansa callers -q -p "$pid" -n 1 "$sym" >> "$out/fs.t.$$"
    ms_of "$sym" "$packaged" callers -q -p "$pid" -n 1 "$sym" >> "$out/fs.p.$$"
    ms_of "#0 .*$sym" gdb -q -batch -nx -p "$pid" -ex "break $sym" -ex continue -ex bt >> "$out/fs.g.$$"
  done
  t=$(median < "$out/fs.t.$$"); p=$(median < "$out/fs.p.$$"); g=$(median < "$out/fs.g.$$")
  kill -0 "$pid" # still alive after the tools came and went
  printf '%-12s tansa (dev) %5d ms   tansa (packaged) %5d ms   gdb %5d ms   packaged/gdb %4.2fx\n' \
    "$label" "$t" "$p" "$g" "$(awk -v p="$p" -v g="$g" 'BEGIN { print p / (g ? g : 1) }')"
}

echo "start → first stack, wall time, median of $reps (one workload running at a time)"
# Ruby: bcrypt at cost 4, each hash reaching crypt_ra once; runs for as long as we measure
start_target "$out/fs.ruby.$$" ruby bench/ruby_hits.rb 100000000 /; pids+=("$pid")
sleep 0.5; row "ruby+bcrypt" "$pid" crypt_ra; kill "$pid"
# C: target() three frames deep, 20000 iterations of other work between calls
start_target "$out/fs.c.$$" "$out/hits" 1000000000000 / 20000; pids+=("$pid")
sleep 0.5; row "C hits" "$pid" target; kill "$pid"
size=$(du -sm "${packaged%/bin/tansa}" | cut -f1)
start_target "$out/fs.c.$$" "$out/hits" 1000000000000 / 20000; pids+=("$pid")
rss=$(/usr/bin/time -f %M "$packaged" callers -q -p "$pid" -n 1 target 2>&1 >/dev/null | tail -1)
kill "$pid"
echo "packaged tree: $size MB unpacked ($(du -m "$out"/dist/*.deb | cut -f1) MB .deb); a one-shot callers: ${rss} KiB max RSS"
