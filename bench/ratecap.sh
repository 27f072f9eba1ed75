#!/usr/bin/env bash
# The rate cap bounds what the target pays (issue 16, item 7): a C loop calling hot() hundreds of
# millions of times a second reports its own call rate every 100 ms (src/test/c/ratecap.c, the
# ground truth). In interleaved rounds, its rate while nothing traces it, during a tansa capture
# with the default rate cap (1000 hits/s; copy, stop and kernel mode, -n 0 -d SECS), and while bpftrace
# counts the same calls (`uprobe:BIN:hot { @n = count(); }`: armed all the time). Prints each
# mode's mean call rate over the tool's run (calls / time; median over the rounds) and its share
# of the untraced rate.
# Usage: bench/ratecap.sh [ROUNDS=3] [SECS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; secs=${2:-4}
out=bench/out; mkdir -p "$out"
gcc -O2 -o "$out/ratecap" src/test/c/ratecap.c
bin/tansa --version >/dev/null # build once, outside the measurement
command -v bpftrace >/dev/null || { echo "bpftrace not found" >&2; exit 1; }

rates="$out/ratecap.rates"
"$out/ratecap" 100 > "$rates" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -q ready "$rates"; do sleep 0.01; done
sleep 1

lines() { wc -l < "$rates"; }
# the mean of the rates reported in lines ($1, $2] of the target's output, skipping the first and
# last period: calls over time (equal periods), so the slow periods while the probe is armed count
window_mean() {
  sed -n "$(($1 + 2)),$(($2 - 1))p" "$rates" | sed -n 's/^rate //p' | awk '{s += $1; n++} END {printf "%d\n", s / n}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A all
for ((r = 1; r <= rounds; r++)); do
  for mode in none copy stop kernel bpftrace; do
    log="$out/ratecap.$mode.log"; : > "$log"
    case $mode in
      none)
        a=$(lines); sleep "$secs"; b=$(lines) ;;
      copy|stop|kernel)
        bin/tansa callers --mode "$mode" -p "$pid" -n 0 -d "${secs}s" -f json -o "$out/ratecap.$mode.json" hot 2>"$log" &
        t=$!
        until grep -q probing "$log"; do sleep 0.01; done
        a=$(lines); wait $t; b=$(lines)
        grep -o 'stopped:.*' "$log" | sed "s/^/  round $r $mode: /" ;;
      bpftrace)
        bpftrace -e "uprobe:$out/ratecap:hot { @n = count(); }" > "$log" 2>&1 &
        t=$!
        until grep -q Attaching "$log"; do sleep 0.01; done
        sleep 0.2; a=$(lines); sleep "$secs"; b=$(lines)
        kill -INT $t; wait $t || true
        echo "  round $r bpftrace: $(grep -o '@n: [0-9]*' "$log")" ;;
    esac
    m=$(window_mean "$a" "$b")
    all[$mode]+="$m "
    sleep 1 # the loop back at full speed before the next mode
  done
done

base=$(echo ${all[none]} | tr ' ' '\n' | median)
echo "rounds: $rounds interleaved, ${secs}s each; call rate of the loop over each run (calls/time; median of the rounds)"
for mode in none copy stop kernel bpftrace; do
  m=$(echo ${all[$mode]} | tr ' ' '\n' | median)
  awk -v mode="$mode" -v m="$m" -v b="$base" -v runs="${all[$mode]}" \
    'BEGIN { printf "%-9s %13.0f calls/s  %6.1f%% of untraced   (rounds: %s)\n", mode, m, 100 * m / b, runs }'
done
