# Shared by the bench scripts (sourced).

# start_target OUTFILE CMD... : starts CMD with stdout to OUTFILE, waits for its "ready" line, sets $pid.
start_target() {
  local res=$1; shift
  "$@" > "$res" 2>/dev/null &
  pid=$!
  until grep -q ready "$res" 2>/dev/null; do sleep 0.01; done
}

# await_line FILE TEXT : waits until FILE contains TEXT (a tracer's readiness line).
await_line() { until grep -q "$2" "$1" 2>/dev/null; do sleep 0.02; done; }

# the median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_modes MODE... : `run_one MODE` REPS times per mode (run_one prints "loop_ns captured");
# sets res[MODE] to the median loop time and cap[MODE] to the captured count of each run.
declare -A res cap
run_modes() {
  local mode i
  for mode in "$@"; do
    for ((i = 0; i < reps; i++)); do run_one "$mode"; done > "$out/runs.$mode"
    res[$mode]=$(cut -d' ' -f1 "$out/runs.$mode" | median)
    cap[$mode]=$(cut -d' ' -f2 "$out/runs.$mode" | tr '\n' ' ')
  done
}

# print_modes MODE... : each mode's median loop time and extra time per hit over "none", with
# the captured counts of the tansa modes (copy, stop).
print_modes() {
  local mode
  for mode in "$@"; do
    printf '%-6s loop %12d ns   extra per hit %9d ns   %s\n' "$mode" "${res[$mode]}" \
      $(( (res[$mode] - res[none]) / hits )) "$([[ $mode == copy || $mode == stop ]] && echo "captured: ${cap[$mode]}")"
  done
}
