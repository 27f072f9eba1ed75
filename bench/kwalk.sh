#!/usr/bin/env bash
# Extra time per hit on the target, same workload, same run, interleaved rounds: tansa's kernel
# stack walk (--mode kernel) vs bpftrace counting hits (uprobe:BIN:target { @n = count(); }: the
# uprobe trap alone) vs bpftrace's frame-pointer ustack vs tansa copy mode (registers + 16 KiB of
# stack per hit) [vs gdb break + bt + continue with GDB=1]. Medians of REPS rounds, ratios against
# bpftrace's count-only cost (issue 16's goal: the kernel walk within 1.3x of it), and how many hits
# each tansa run captured (of HITS).
# Usage: [GDB=1] [MODES="none kernel bpf_count"] bench/kwalk.sh [HITS=20000] [REPS=5] [WORK=0]
#   WORK: iterations of other work between calls (0: back to back, the hardest case for capture).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
hits=${1:-20000}; reps=${2:-5}; work=${3:-0}
out=bench/out; mkdir -p "$out"
gcc -O2 -g -fomit-frame-pointer -o "$out/kwalk_hits" bench/kwalk_hits.c
bin/tansa --version >/dev/null # build once, outside the measurement
modes=(${MODES:-none kernel bpf_count bpf_ustack copy})
[[ "${GDB:-0}" == 1 ]] && modes+=(gdb)

run_one() { # $1 = mode → prints "loop_ns captured"
  local go="$out/go.$$" log="$out/log.$$" res="$out/res.$$" txt="$out/txt.$$"; rm -f "$go" "$res" "$txt"
  local pid; start_target "$res" "$out/kwalk_hits" "$hits" "$go" "$work"
  local tracer=
  case "$1" in
    none) touch "$go" ;;
    kernel|copy)
      bin/tansa callers --mode "$1" -p "$pid" -n 0 --rate 0 -d 10m target >"$txt" 2>"$log" &
      tracer=$!
      await_line "$log" probing
      touch "$go" ;;
    bpf_count|bpf_ustack)
      # BEGIN runs once every probe is attached: "started" means the uprobe is in place
      local prog='BEGIN { printf("started\n"); } uprobe:'"$out/kwalk_hits"':target { @n = count(); }'
      [[ $1 == bpf_ustack ]] && prog='BEGIN { printf("started\n"); } uprobe:'"$out/kwalk_hits"':target { @s[ustack] = count(); }'
      bpftrace -p "$pid" -e "$prog" >"$txt" 2>"$log" &
      tracer=$!
      await_line "$txt" started
      touch "$go" ;;
    gdb)
      printf 'set pagination off\nbreak target\ncommands\nsilent\nbt\ncontinue\nend\nshell touch %s\ncontinue\n' "$go" > "$out/gdb.cmds"
      gdb -q -batch -p "$pid" -x "$out/gdb.cmds" >/dev/null 2>&1 &
      tracer=$! ;;
  esac
  wait "$pid"
  local got=
  case "$1" in
    kernel|copy) wait "$tracer" 2>/dev/null || true
      got=$(sed -n 's/^\([0-9]*\) hits on.*/\1/p' "$txt" 2>/dev/null | head -1) ;;
    bpf_count) kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true
      got=$(sed -n 's/^@n: \([0-9]*\)/\1/p' "$txt" | head -1) ;;
    bpf_ustack) kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true
      got=$(awk '/^]: /{s+=$2} END{print s+0}' "$txt") ;;
    gdb) wait "$tracer" 2>/dev/null || true ;;
  esac
  echo "$(sed -n 's/^elapsed_ns \([0-9]*\).*/\1/p' "$res") ${got:--} $(sed -n 's/^cpu_ns \([0-9]*\).*/\1/p' "$res")"
  rm -f "$go" "$log" "$res" "$txt"
}

run_modes "${modes[@]}"
# the target's own CPU time per hit over the untraced loop's (what it paid, whatever else ran on the cpus)
declare -A cpu
for mode in "${modes[@]}"; do
  cpu[$mode]=$(paste -d' ' <(cut -d' ' -f3 "$out/runs.$mode") <(cut -d' ' -f3 "$out/runs.none") |
    awk -v h="$hits" '{ print int(($1 - $2) / h) }' | median)
done
echo "kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); hits per run: $hits, work between hits: $work;"
echo "$reps rounds interleaved; medians of per-round differences from the untraced loop: wall clock, and the target's own CPU time"
for mode in "${modes[@]}"; do
  printf '%-10s loop %12d ns   extra per hit: wall %7d ns, target cpu %7d ns   captured: %s\n' "$mode" "${res[$mode]}" \
    "${extra[$mode]}" "${cpu[$mode]}" "${cap[$mode]}"
done
ratio_to() { # ANCHOR MODE ARRAY
  local -n arr=$3
  [[ -n "${arr[$1]:-}" && -n "${arr[$2]:-}" ]] || { echo "-"; return; }
  awk -v a="${arr[$1]}" -v m="${arr[$2]}" 'BEGIN { if (a > 0) printf "%.2fx", m / a; else print "n/a" }'
}
for what in extra cpu; do
  echo "per-hit cost ($([[ $what == extra ]] && echo wall clock || echo target cpu)) relative to bpftrace count-only:" \
    "kernel walk $(ratio_to bpf_count kernel $what), bpftrace ustack $(ratio_to bpf_count bpf_ustack $what)," \
    "copy mode $(ratio_to bpf_count copy $what)$([[ " ${modes[*]} " == *" gdb "* ]] && echo ", gdb $(ratio_to bpf_count gdb $what)")"
done
echo "goal (issue 16): kernel walk within 1.3x of bpftrace's count-only cost"
