#!/usr/bin/env bash
# tansa fds / tansa sockets on a process holding N sockets (default 10,000), side by side with
# lsof -p and ss -xlp / ss -tlnp. Prints, over RUNS runs (default 5), the median wall time and the
# median CPU time (user + sys: what the work costs, also on a machine busy with other jobs) and the
# ratios, then tansa's in-process times (without JVM start) from bench/NetBench.java.
# tansa runs as bin/tansa runs it (same JVM flags), minus the launcher's staleness check.
# Usage: bench/fds-sockets.sh [N] [RUNS]   (root: lsof/ss need it to see other users' fds;
# needs gcc, lsof, ss, bc and GNU time: Debian packages gcc lsof iproute2 bc time)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
source "$here/bin/jdk.sh"
n="${1:-10000}" runs="${2:-5}"
work="$(mktemp -d /tmp/tansa-bench.XXXXXX)"
holder=""
cleanup() { [[ -n "$holder" ]] && kill -9 "$holder" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

gcc -O2 -o "$work/hold_sockets" "$here/bench/hold_sockets.c"
"$here/bin/tansa" --version >/dev/null # build the jar outside the timings
tansa=("$jdk/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
  -jar "$here/target/tansa.jar")
mkfifo "$work/out"
"$work/hold_sockets" "$n" "$work" >"$work/out" &
holder=$!
read -r ready fds <"$work/out"
echo "holder pid $holder: $fds sockets ($((n / 10)) unix listeners, $((n / 20)) tcp listeners)"

# "WALL_MS CPU_MS": medians over $runs runs of "$@" (output discarded)
median() {
  local w=() c=()
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$work/time" -f "%e %U %S" "$@" >/dev/null 2>&1
    read -r e u s <"$work/time"
    w+=("$(echo "$e * 1000 / 1" | bc)")
    c+=("$(echo "($u + $s) * 1000 / 1" | bc)")
  done
  echo "$(printf '%s\n' "${w[@]}" | sort -n | sed -n "$((runs / 2 + 1))p")" \
    "$(printf '%s\n' "${c[@]}" | sort -n | sed -n "$((runs / 2 + 1))p")"
}

read -r fds_tw fds_tc <<<"$(median "${tansa[@]}" fds -p "$holder" -f json -o /dev/null)"
read -r fds_lw fds_lc <<<"$(median lsof -w -n -P -p "$holder")"
read -r so_tw so_tc <<<"$(median "${tansa[@]}" sockets -a --listen -f json -o /dev/null)"
read -r so_sw so_sc <<<"$(median bash -c 'ss -xlp; ss -tlnp')"

row() { printf '%-40s %8d %8d %6.2f   %8d %8d %6.2f\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$4" "$5" \
  "$(echo "$4 / $5" | bc -l)"; }
printf '%-40s %8s %8s %6s   %8s %8s %6s\n' "median of $runs runs, ms" "wall" "anchor" "ratio" "cpu" "anchor" "ratio"
row "fds -p  vs lsof -p" "$fds_tw" "$fds_lw" "$fds_tc" "$fds_lc"
row "sockets -a --listen  vs ss -xlp; ss -tlnp" "$so_tw" "$so_sw" "$so_tc" "$so_sc"
echo "counts: tansa fds $("${tansa[@]}" fds -p "$holder" -f json | grep -o '{"fd": ' | wc -l)," \
  "lsof $(lsof -w -n -P -p "$holder" | awk '$4 ~ /^[0-9]+[urw]/' | wc -l);" \
  "listeners tansa $("${tansa[@]}" sockets -a --listen -f json | grep -o '"state": "listen"' | wc -l)," \
  "ss $(( $(ss -xlH | wc -l) + $(ss -tlnH | wc -l) ))"
"$jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp "$here/target/tansa.jar:$here/target/lib/*" \
  "$here/bench/NetBench.java" "$holder" "$runs"
