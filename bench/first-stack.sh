#!/usr/bin/env bash
# Time from start to the first stack: `tansa callers -n 1` (starts, attaches, prints one stack,
# exits) vs gdb's attach → break → continue → first `bt`, on one running process per workload:
# Ruby + bcrypt (crypt_ra) and bench/hits.c (target, with work between calls). Wall time of the
# whole command, REPS times each, one workload at a time (each keeps a core busy); prints the
# medians and the ratio.
# Usage: bench/first-stack.sh [REPS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
reps=${1:-5}
out=bench/out; mkdir -p "$out"
bin/tansa --version >/dev/null # build once, outside the measurement
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

row() { # LABEL PID SYMBOL
  local label=$1 pid=$2 sym=$3 t g
  t=$(for ((i = 0; i < reps; i++)); do ms_of "$sym" bin/tansa callers -q -p "$pid" -n 1 "$sym"; done | median)
  g=$(for ((i = 0; i < reps; i++)); do
        ms_of "#0 .*$sym" gdb -q -batch -nx -p "$pid" -ex "break $sym" -ex continue -ex bt
      done | median)
  kill -0 "$pid" # still alive after both tools came and went
  printf '%-12s tansa %6d ms   gdb %6d ms   gdb/tansa %5.1fx\n' "$label" "$t" "$g" "$(awk -v t="$t" -v g="$g" 'BEGIN { print g / (t ? t : 1) }')"
}

echo "start → first stack, wall time, median of $reps (one workload running at a time)"
# Ruby: bcrypt at cost 4, each hash reaching crypt_ra once; runs for as long as we measure
start_target "$out/fs.ruby.$$" ruby bench/ruby_hits.rb 100000000 /; pids+=("$pid")
sleep 0.5; row "ruby+bcrypt" "$pid" crypt_ra; kill "$pid"
# C: target() three frames deep, 20000 iterations of other work between calls
start_target "$out/fs.c.$$" "$out/hits" 1000000000000 / 20000; pids+=("$pid")
sleep 0.5; row "C hits" "$pid" target; kill "$pid"
