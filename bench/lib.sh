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

# run_modes MODE... : REPS rounds, each running `run_one MODE` once per mode in turn (run_one
# prints "loop_ns captured"), so that a slow spell of the machine hits every mode alike. Sets
# res[MODE] to the median loop time, cap[MODE] to the captured counts, and extra[MODE] to the
# median over rounds of (MODE's loop - the same round's "none" loop) / hits: the cost per hit.
declare -A res cap extra
run_modes() {
  local mode i
  for mode in "$@"; do : > "$out/runs.$mode"; done
  for ((i = 0; i < reps; i++)); do
    for mode in "$@"; do run_one "$mode" >> "$out/runs.$mode"; done
  done
  for mode in "$@"; do
    res[$mode]=$(cut -d' ' -f1 "$out/runs.$mode" | median)
    cap[$mode]=$(cut -d' ' -f2 "$out/runs.$mode" | tr '\n' ' ')
    extra[$mode]=$(paste -d' ' <(cut -d' ' -f1 "$out/runs.$mode") <(cut -d' ' -f1 "$out/runs.none") |
      awk -v h="$hits" '{ print int(($1 - $2) / h) }' | median)
  done
}

# print_modes MODE... : each mode's median loop time and cost per hit, with the captured counts
# of the tansa modes (copy, stop).
print_modes() {
  local mode
  for mode in "$@"; do
    printf '%-6s loop %12d ns   extra per hit %9d ns   %s\n' "$mode" "${res[$mode]}" "${extra[$mode]}" \
      "$([[ $mode == copy || $mode == stop ]] && echo "captured: ${cap[$mode]}")"
  done
}

# ratio ANCHOR MODE : the anchor's cost per hit over MODE's ("below noise" when MODE's is not
# measurably above the untraced loop)
ratio() {
  awk -v a="${extra[$1]}" -v m="${extra[$2]}" 'BEGIN { if (m > 0) printf "%.1fx", a / m; else print "below noise (cost <= 0)" }'
}

# ruby_captured OUT LOG : the hits tansa callers captured with their Ruby frames (its OUT's "N hits
# on" less the hits LOG says kept native frames only); empty for a run without tansa
ruby_captured() {
  local captured native
  captured=$(sed -n 's/^\([0-9]*\) hits on.*/\1/p' "$1" 2>/dev/null | head -1 || true)
  native=$(sed -n 's/^tansa: \([0-9]*\) hits have native frames only.*/\1/p' "$2" 2>/dev/null || true)
  [[ -n $captured && -n $native ]] && captured=$((captured - native))
  echo "$captured"
}
