#!/usr/bin/env bash
# Slowdown of a syscall-heavy loop (N getppid, timed by the program itself) untraced, under
# tansa trace -c, strace -c and perf trace -s: several rounds, interleaved, median ratios.
# Usage: bench/trace.sh [N=500000] [ROUNDS=5]     (root; needs gcc, strace, perf)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-500000}"
rounds="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/loop" "$here/bench/getppid_loop.c"
"$here/bin/tansa" --version >/dev/null   # build the jar outside the timed runs

ns() { grep -o 'ns_per_call [0-9.]*' "$1" | awk '{print $2}'; }
run() { # name, command...
  local name="$1"; shift
  "$@" >"$work/out" 2>"$work/err" || { echo "$name failed:"; cat "$work/err"; exit 1; }
  echo "$name $(ns "$work/out")" >>"$work/results"
}
check_count() { # name, summary file: tracers must have seen every call
  local c
  c=$(grep -E '(^| )getppid( |$)' "$2" | grep -oE '\b'"$n"'\b' | head -1 || true)
  [[ "$c" == "$n" ]] || echo "warning: $1 counted $(grep -w getppid "$2" | head -1) (want $n calls)" >&2
}

for r in $(seq 1 "$rounds"); do
  run untraced "$work/loop" "$n"
  run tansa "$here/bin/tansa" trace -q -c -o "$work/tansa.txt" -- "$work/loop" "$n"
  check_count tansa "$work/tansa.txt"
  run strace strace -c -o "$work/strace.txt" "$work/loop" "$n"
  check_count strace "$work/strace.txt"
  run perf perf trace -s -o "$work/perf.txt" "$work/loop" "$n"
  check_count perf "$work/perf.txt"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(awk '$1=="untraced"{print $2}' "$work/results" | median)
printf "getppid loop, N=%s, %s rounds, median ns per call (slowdown vs untraced)\n" "$n" "$rounds"
for t in untraced tansa strace perf; do
  m=$(awk -v t="$t" '$1==t{print $2}' "$work/results" | median)
  ratios=$(awk -v t="$t" -v b="$base" '$1==t{printf "%.1f ", $2/b}' "$work/results")
  printf "  %-9s %9.1f ns  %6.1fx   (rounds: %s)\n" "$t" "$m" "$(echo "$m $base" | awk '{print $1/$2}')" "$ratios"
done
tansa=$(awk '$1=="tansa"{print $2}' "$work/results" | median)
perf=$(awk '$1=="perf"{print $2}' "$work/results" | median)
strace=$(awk '$1=="strace"{print $2}' "$work/results" | median)
echo "tansa vs perf trace: $(echo "$perf $tansa" | awk '{printf "%.1f", $1/$2}')x less slowdown;" \
  "vs strace: $(echo "$strace $tansa" | awk '{printf "%.1f", $1/$2}')x"
