#!/usr/bin/env bash
# Extra time per hit on the target, every hit captured: tansa callers (copy mode: the thread never
# stops; stop mode: it stops while its stack is read) vs gdb (break + bt + continue), same workload,
# same run. Prints medians of REPS runs, the ratios, and how many hits each tansa run captured.
# Usage: bench/callers-vs-gdb.sh [HITS=2000] [REPS=5] [WORK=20000]
#   WORK: iterations of other work between calls (~20 µs here), so that hits come as from a busy
#   program rather than back to back; 0 = back to back (copy mode then loses what its buffer cannot hold).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
hits=${1:-2000}; reps=${2:-5}; work=${3:-20000}
out=bench/out; mkdir -p "$out"
gcc -O2 -g -o "$out/hits" bench/hits.c
bin/tansa --version >/dev/null # build once, outside the measurement

run_one() { # $1 = mode → prints "loop_ns captured"
  local go="$out/go.$$" log="$out/log.$$" res="$out/res.$$" txt="$out/txt.$$"; rm -f "$go" "$res" "$txt"
  local pid; start_target "$res" "$out/hits" "$hits" "$go" "$work"
  case "$1" in
    none) touch "$go" ;;
    copy|stop)
      bin/tansa callers --mode "$1" -p "$pid" -n 0 --rate 0 -d 10m target >"$txt" 2>"$log" &
      await_line "$log" probing
      touch "$go" ;;
    gdb)
      printf 'set pagination off\nbreak target\ncommands\nsilent\nbt\ncontinue\nend\nshell touch %s\ncontinue\n' "$go" > "$out/gdb.cmds"
      gdb -q -batch -p "$pid" -x "$out/gdb.cmds" >/dev/null 2>&1 & ;;
  esac
  wait "$pid"
  wait 2>/dev/null || true # the tracer ends when the target exits
  echo "$(sed -n 's/^elapsed_ns \([0-9]*\).*/\1/p' "$res") $(sed -n 's/^\([0-9]*\) hits on.*/\1/p' "$txt" 2>/dev/null | head -1)"
  rm -f "$go" "$log" "$res" "$txt"
}

run_modes none copy stop gdb
echo "hits per run: $hits, work between hits: $work, runs: $reps interleaved (medians; extra = median of per-round differences)"
print_modes none copy stop gdb
echo "gdb / tansa per-hit cost: copy mode $(ratio gdb copy), stop mode $(ratio gdb stop)"
