#!/usr/bin/env bash
# Extra time per hit on the target, every hit captured: tansa callers vs gdb (break + bt +
# continue), same workload, same run. Prints medians of REPS runs and the ratio.
# Usage: bench/callers-vs-gdb.sh [HITS=2000] [REPS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
hits=${1:-2000}; reps=${2:-5}
out=bench/out; mkdir -p "$out"
gcc -O2 -fno-omit-frame-pointer -g -o "$out/hits" bench/hits.c
bin/tansa --version >/dev/null # build once, outside the measurement

run_one() { # $1 = mode → prints the target's loop time in ns
  local go="$out/go.$$" log="$out/log.$$" res="$out/res.$$"; rm -f "$go" "$res"
  local pid; start_target "$res" "$out/hits" "$hits" "$go"
  case "$1" in
    none) touch "$go" ;;
    tansa)
      bin/tansa callers -p "$pid" -n 0 --rate 0 -d 10m target >/dev/null 2>"$log" &
      await_line "$log" probing
      touch "$go" ;;
    gdb)
      printf 'set pagination off\nbreak target\ncommands\nsilent\nbt\ncontinue\nend\nshell touch %s\ncontinue\n' "$go" > "$out/gdb.cmds"
      gdb -q -batch -p "$pid" -x "$out/gdb.cmds" >/dev/null 2>&1 & ;;
  esac
  wait "$pid"
  wait 2>/dev/null || true # the tracer ends when the target exits
  sed -n 's/^elapsed_ns \([0-9]*\).*/\1/p' "$res"
  rm -f "$go" "$log" "$res"
}

declare -A res
for mode in none tansa gdb; do
  for ((i = 0; i < reps; i++)); do run_one "$mode"; done | median > "$out/median.$mode"
  res[$mode]=$(cat "$out/median.$mode")
done
per_tansa=$(( (res[tansa] - res[none]) / hits ))
per_gdb=$(( (res[gdb] - res[none]) / hits ))
echo "hits per run: $hits, runs: $reps (medians)"
printf '%-8s loop %10d ns   extra per hit %8d ns\n' untraced "${res[none]}" 0 tansa "${res[tansa]}" "$per_tansa" gdb "${res[gdb]}" "$per_gdb"
awk -v t="$per_tansa" -v g="$per_gdb" 'BEGIN { printf "gdb / tansa per-hit cost: %.1fx\n", g / t }'
