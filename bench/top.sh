#!/usr/bin/env bash
# tansa top vs perf: CPU time the profiler itself uses (user + system, from /usr/bin/time) while
# sampling a busy 2-thread target at 999 Hz for DURATION seconds. Median of RUNS runs each.
#   tansa top --once       one table at the end (JVM start included; "sampling only" subtracts
#                          the CPU of a JVM that starts and exits: `tansa --version`; "steady state"
#                          is the CPU per second of sampling: (run of DURATION - run of 1 s) / (DURATION - 1))
#   perf record            samples to a file (no symbols yet)
#   perf record + report   the same plus `perf report --stdio`: the one-shot table perf needs two steps for
#   perf top --stdio       live table (needs a tty: run under script(1))
# Usage: bench/top.sh [DURATION=10] [RUNS=3]   (root)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dur=${1:-10}
runs=${2:-3}
work=$(mktemp -d)
trap 'kill "$target" 2>/dev/null || true; rm -rf "$work"' EXIT

gcc -O0 -pthread -o "$work/busy" "$here/src/test/c/top_threads.c"
# stdin stays open: the third thread never starts; nice -10 keeps it busy on a loaded machine
sleep 1000000 | nice -n -10 "$work/busy" > "$work/busy.out" &
sleep 0.5
target=$(pgrep -n -f "$work/busy")
"$here/bin/tansa" --version > /dev/null              # build the jar outside the measurement

cpu() { # command... → "user+sys seconds" of that command and its children
  /usr/bin/time -f "%U %S" -o "$work/t" "$@" > /dev/null 2>&1 || true
  awk '{printf "%.3f\n", $1 + $2}' "$work/t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A res
for i in $(seq "$runs"); do
  res[jvm]+="$(cpu "$here/bin/tansa" --version) "
  res[tansa]+="$(cpu "$here/bin/tansa" top -p "$target" --once -d "${dur}s" -q) "
  res[tansa1]+="$(cpu "$here/bin/tansa" top -p "$target" --once -d 1s -q) "
  res[record]+="$(cpu perf record -q -F 999 -p "$target" -o "$work/perf.data" -- sleep "$dur") "
  res[report]+="$(cpu perf report --stdio -i "$work/perf.data") "
  res[top]+="$(cpu script -qfc "timeout -s INT $dur perf top --stdio -F 999 -p $target" /dev/null) "
done

m() { tr ' ' '\n' <<< "${res[$1]}" | grep . | median; }
jvm=$(m jvm); tansa=$(m tansa); tansa1=$(m tansa1); record=$(m record); report=$(m report); top=$(m top)
sampling=$(awk -v a="$tansa" -v b="$jvm" 'BEGIN {printf "%.3f", a - b}')
steady=$(awk -v a="$tansa" -v b="$tansa1" -v d="$dur" 'BEGIN {printf "%.4f", (a - b) / (d - 1)}')
perfsteady=$(awk -v a="$top" -v d="$dur" 'BEGIN {printf "%.4f", a / d}')
recsteady=$(awk -v a="$record" -v d="$dur" 'BEGIN {printf "%.4f", a / d}')
recrep=$(awk -v a="$record" -v b="$report" 'BEGIN {printf "%.3f", a + b}')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
echo "CPU seconds used by the profiler, ${dur}s at 999 Hz on 2 busy threads, median of $runs:"
printf '  %-34s %8s\n' "tansa top --once" "$tansa"
printf '  %-34s %8s\n' "  of which JVM start/exit" "$jvm"
printf '  %-34s %8s\n' "  sampling only" "$sampling"
printf '  %-34s %8s\n' "perf record" "$record"
printf '  %-34s %8s\n' "perf record + perf report" "$recrep"
printf '  %-34s %8s\n' "perf top --stdio" "$top"
echo "CPU seconds per second of sampling: tansa steady state $steady, perf record $recsteady (whole run / ${dur}),"\
" perf top $perfsteady (whole run / ${dur}); tansa/perf-top $(ratio "$steady" "$perfsteady")"
echo "ratios: tansa/perf-top $(ratio "$tansa" "$top"), tansa/(record+report) $(ratio "$tansa" "$recrep"),"\
" tansa-sampling/perf-record $(ratio "$sampling" "$record"), tansa-sampling/perf-top $(ratio "$sampling" "$top")"
