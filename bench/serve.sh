#!/usr/bin/env bash
# One GET /metrics of a running `tansa serve` against `ss -xlnp; ss -tlnp` reading the same
# listeners (queues and owning processes), with ~1,000 listeners held by one process (bench/hold_sockets.c:
# N/10 UNIX listeners, N/20 TCP listeners with a connection waiting). Interleaved rounds (REPS,
# default 21): each round times one scrape (curl's time_total; the server's CPU from /proc/PID/stat
# before and after) and one ss pair (wall, and user+sys CPU of both ss runs). Prints medians and
# ratios, the series count in the scrape against ss's line count, then the CPU an idle tansa serve
# used over IDLE seconds (default 60). With SOAK=S in the environment, 10 clients then scrape in a
# loop for S seconds and the server's RSS is printed every 10 s (the server runs with -Xmx128m, as
# packaging/tansa-serve.service runs it).
# Usage: [SOAK=S] bench/serve.sh [N] [REPS] [IDLE]   (root; gcc, curl, ss, GNU time: gcc curl iproute2 time)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
source "$here/bin/jdk.sh"
source "$here/bench/lib.sh"
n="${1:-6680}" reps="${2:-21}" idle="${3:-60}"
work="$(mktemp -d /tmp/tansa-bench-serve.XXXXXX)"
holder="" serve=""
cleanup() {
  # the holder first; no command here may end the trap early (set -e applies in it)
  if [[ -n "$holder" ]]; then kill -9 "$holder" 2>/dev/null || true; fi
  if [[ -n "$serve" ]]; then kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -o "$work/hold_sockets" "$here/bench/hold_sockets.c"
"$here/bin/tansa" --version >/dev/null # build the jar outside the timings
start_target "$work/holder.out" "$work/hold_sockets" "$n" "$work"
holder=$pid
echo "holder pid $holder: $((n / 10)) unix listeners, $((n / 20)) tcp listeners"

"$jdk/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Xmx128m \
  -jar "$here/target/tansa.jar" serve --listen 127.0.0.1:0 2>"$work/serve.err" &
serve=$!
await_line "$work/serve.err" "listening on"
url="$(grep -o 'http://[^ ]*' "$work/serve.err" | head -1)"
for _ in 1 2 3 4 5; do curl -sf -o /dev/null "$url/metrics"; done # warm: classes loaded and compiled

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
now_ns() { date +%s%N; }
: >"$work/scrape" ; : >"$work/ss"
for ((i = 0; i < reps; i++)); do
  t0=$(cpu_ticks "$serve")
  wall=$(curl -sf -o "$work/metrics" -w '%{time_total}' "$url/metrics")
  t1=$(cpu_ticks "$serve")
  echo "$(awk -v w="$wall" 'BEGIN { printf "%d", w * 1e6 }') $(( (t1 - t0) * 1000000 / hz ))" >>"$work/scrape"
  s0=$(now_ns)
  /usr/bin/time -o "$work/t" -f "%U %S" bash -c 'ss -xlnp >/dev/null; ss -tlnp >/dev/null'
  s1=$(now_ns)
  read -r u s <"$work/t"
  echo "$(( (s1 - s0) / 1000 )) $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1e6 }')" >>"$work/ss"
done
sw=$(cut -d' ' -f1 "$work/scrape" | median) sc=$(cut -d' ' -f2 "$work/scrape" | median)
aw=$(cut -d' ' -f1 "$work/ss" | median) ac=$(cut -d' ' -f2 "$work/ss" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-44s %10s %10s %7s\n' "median of $reps interleaved rounds, µs" "tansa" "ss" "ratio"
printf '%-44s %10d %10d %7s\n' "wall: GET /metrics vs ss -xlnp; ss -tlnp" "$sw" "$aw" "$(ratio "$sw" "$aw")"
printf '%-44s %10d %10d %7s\n' "cpu (tansa serve's / both ss')" "$sc" "$ac" "$(ratio "$sc" "$ac")"
echo "(cpu from /proc/PID/stat ticks of 1/$hz s: a median of 0 means under a tick)"
echo "series: tansa_listen_queued $(grep -c '^tansa_listen_queued{' "$work/metrics")," \
  "ss lines $(( $(ss -xlnH | wc -l) + $(ss -tlnH | wc -l) ))"

t0=$(cpu_ticks "$serve")
sleep "$idle"
t1=$(cpu_ticks "$serve")
echo "idle tansa serve: $(( (t1 - t0) * 1000 / hz )) ms of CPU over ${idle} s"

soak="${SOAK:-0}"
if (( soak > 0 )); then
  end=$(( $(date +%s) + soak ))
  loaders=()
  for _ in $(seq 10); do
    ( n=0; while (( $(date +%s) < end )); do curl -sf -o /dev/null "$url/metrics" || echo "scrape failed" >&2; n=$((n + 1)); done
      echo "$n" >>"$work/soak" ) &
    loaders+=($!)
  done
  while (( $(date +%s) < end )); do
    echo "soak: RSS $(awk '/VmRSS/ { print $2 }' "/proc/$serve/status") KiB, fds $(ls "/proc/$serve/fd" | wc -l)"
    sleep 10
  done
  wait "${loaders[@]}"
  echo "soak: $(paste -sd+ "$work/soak" | bc) scrapes in ${soak} s; RSS $(awk '/VmRSS/ { print $2 }' "/proc/$serve/status") KiB," \
    "fds $(ls "/proc/$serve/fd" | wc -l)"
fi
