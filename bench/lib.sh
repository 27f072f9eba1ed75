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
