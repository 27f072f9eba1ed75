#!/usr/bin/env bash
# Guest slowdown under tansa kvm, tansa trace -c, strace -f and perf trace: a real-mode guest
# (64 KiB -bios firmware) doing OUTS port writes (each one an exit to qemu), timed from the
# monitor's "cont" to qemu's exit; qemu starts paused (-S), the tool attaches, then cont.
# Interleaved rounds. Run: bench/kvm.sh [ROUNDS] [OUTS_IN_THOUSANDS]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"; k="${2:-100}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat >"$work/fw.S" <<ASM
.code16
.text
main:
    cli
    mov \$$k, %bx
1:  mov \$1000, %cx
2:  out %al, \$0x80
    loop 2b
    dec %bx
    jnz 1b
    mov \$0x10, %al
    out %al, \$0xf4
3:  hlt
    jmp 3b
. = 0xfff0
    ljmp \$0xf000, \$main
. = 0x10000
ASM
gcc -m32 -c -o "$work/fw.o" "$work/fw.S"
ld -m elf_i386 -Ttext 0 -e 0 -o "$work/fw.elf" "$work/fw.o"
objcopy -O binary "$work/fw.elf" "$work/fw.bin"

# one round: $1 = label, rest = tool command with PID in place of the pid; prints seconds
round() {
  local label="$1"; shift
  rm -f "$work/mon.sock"
  qemu-system-x86_64 -S -enable-kvm -m 16 -nodefaults -display none -bios "$work/fw.bin" \
    -monitor "unix:$work/mon.sock,server,nowait" -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>/dev/null &
  local q=$!
  while [[ ! -S "$work/mon.sock" ]]; do sleep 0.05; done
  sleep 0.3
  local tool=""
  if (($#)); then
    "${@//PID/$q}" >"$work/tool.out" 2>"$work/tool.err" &
    tool=$!
    # attached: tansa says so on stderr; strace/perf get a second
    for _ in $(seq 100); do grep -qE 'tansa (kvm|trace):' "$work/tool.err" 2>/dev/null && break; sleep 0.05; done
    sleep 1
  fi
  python3 - "$work/mon.sock" "$q" <<'PY'
import socket, sys, time, os
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.2); s.recv(4096)
t = time.monotonic(); s.send(b"cont\n")
pid = int(sys.argv[2])
while os.path.exists("/proc/%d/stat" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z":
    time.sleep(0.002)
print("%.3f" % (time.monotonic() - t))
PY
  wait "$q" 2>/dev/null || true
  if [[ -n "$tool" ]]; then kill -INT "$tool" 2>/dev/null || true; wait "$tool" 2>/dev/null || true; fi
}

tansa="$here/bin/tansa"
"$tansa" --version >/dev/null 2>&1 || true # build once
declare -A sum
modes=(untraced "tansa kvm" "tansa trace -c" "strace -f" "perf trace")
for ((r = 1; r <= rounds; r++)); do
  for m in "${modes[@]}"; do
    case "$m" in
      untraced) t=$(round "$m") ;;
      "tansa kvm") t=$(round "$m" "$tansa" kvm -p PID) ;;
      "tansa trace -c") t=$(round "$m" "$tansa" trace -c -p PID) ;;
      "strace -f") t=$(round "$m" strace -f -c -p PID) ;;
      "perf trace") t=$(round "$m" perf trace -s -p PID) ;;
    esac
    echo "round $r  $m: ${t} s"
    sum[$m]=$(echo "${sum[$m]:-0} + $t" | bc -l)
  done
done
base=$(echo "${sum[untraced]} / $rounds" | bc -l)
echo "guest with ${k}000 port writes, mean of $rounds rounds:"
for m in "${modes[@]}"; do
  mean=$(echo "${sum[$m]} / $rounds" | bc -l)
  printf "  %-16s %7.3f s  %5.2fx\n" "$m" "$mean" "$(echo "$mean / $base" | bc -l)"
done
