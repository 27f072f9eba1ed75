#!/usr/bin/env bash
# Cost per stop of getting a Ruby thread's frames: tansa's RubyReader (read-only walk of the VM)
# vs gdb `call rb_backtrace()` (the seed's way), same workload: src/test/ruby/frames.rb, whose
# main thread runs ~25 Ruby frames deep. gdb's number counts only the calls (one attach, GDB_N
# calls, minus an attach with none), not its stop/continue, so the ratio favours gdb.
# Usage: bench/ruby-frames.sh [N=2000] [GDB_N=200]
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/jdk.sh
n=${1:-2000}; gn=${2:-200}
out=bench/out; mkdir -p "$out"
env JAVA_HOME="$jdk" mvn -B -q test-compile >/dev/null # target/classes and test-classes for the program

ruby src/test/ruby/frames.rb >"$out/rb.out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
until grep -q ready "$out/rb.out" 2>/dev/null; do sleep 0.01; done

line=$("$jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes \
  bench/RubyFrames.java "$pid" "$n")
echo "$line"

gdb_ns() { # $1 = number of rb_backtrace calls in one attach → wall ns of the gdb run
  { echo 'set pagination off'; for ((i = 0; i < $1; i++)); do echo 'call (void)rb_backtrace()'; done; } > "$out/gdb.cmds"
  local s; s=$(date +%s%N)
  gdb -q -nx -batch -p "$pid" -x "$out/gdb.cmds" >/dev/null 2>&1
  echo $(( $(date +%s%N) - s ))
}
base=$(gdb_ns 0); calls=$(gdb_ns "$gn")
gdb_us=$(( (calls - base) / gn / 1000 ))
echo "gdb call rb_backtrace() per stop: ${gdb_us} us (${gn} calls in one attach)"
tansa_us=$(sed -n 's/.*stop+frames+resume median \([0-9.]*\) us.*/\1/p' <<<"$line")
awk -v g="$gdb_us" -v t="$tansa_us" 'BEGIN { printf "ratio (gdb call / tansa stop+frames+resume): %.0fx\n", g / t }'
