#!/usr/bin/env bash
# Extra time per hit with Ruby frames, every hit captured: tansa callers (native + Ruby frames of
# the hitting thread; no-stop mode: snapshotted in the kernel, and --mode stop) vs the seed's gdb
# way (break crypt_ra, call rb_backtrace(), continue), same Ruby + bcrypt workload, same run.
# Prints medians of REPS runs and the ratios.
# Usage: bench/callers-ruby-vs-gdb.sh [HITS=300] [REPS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
hits=${1:-300}; reps=${2:-3}
out=bench/out; mkdir -p "$out"
bin/tansa --version >/dev/null # build once, outside the measurement

run_one() { # $1 = mode → prints "loop_ns captured"
  local go="$out/go.$$" log="$out/log.$$" res="$out/res.$$" txt="$out/txt.$$"; rm -f "$go" "$res" "$txt"
  local pid; start_target "$res" ruby bench/ruby_hits.rb "$hits" "$go"
  case "$1" in
    none) touch "$go" ;;
    copy|stop)
      bin/tansa callers -p "$pid" -n 0 --rate 0 -d 10m --mode "$1" crypt_ra >"$txt" 2>"$log" &
      await_line "$log" probing
      touch "$go" ;;
    gdb)
      printf 'set pagination off\nset breakpoint pending off\nbreak crypt_ra\ncommands\nsilent\ncall (void)rb_backtrace()\ncontinue\nend\nshell touch %s\ncontinue\n' "$go" > "$out/gdb.cmds"
      gdb -q -batch -p "$pid" -x "$out/gdb.cmds" >/dev/null 2>&1 & ;;
  esac
  wait "$pid"
  wait 2>/dev/null || true
  echo "$(sed -n 's/^elapsed_ns \([0-9]*\).*/\1/p' "$res") $(ruby_captured "$txt" "$log")"
  rm -f "$go" "$log" "$res" "$txt"
}

run_modes none copy stop gdb
echo "hits per run: $hits, runs: $reps interleaved (medians; extra = median of per-round differences); captured = hits with their Ruby frames"
print_modes none copy stop gdb
echo "gdb+rb_backtrace / tansa per-hit cost: copy mode (no stop) $(ratio gdb copy), stop mode $(ratio gdb stop)"
