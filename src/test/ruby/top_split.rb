# Workload for RubyTopTest: the main thread splits its CPU between two Ruby methods 3:1 by
# construction (the same loop, 3x the iterations), and measures the split itself with the
# thread's CPU clock. SIGUSR1 prints what it measured (and proves the signal was delivered).
$stdout.sync = true

class Burner
  def burn_a(n)
    i = 0
    while i < n
      i += 1
    end
    i
  end

  def burn_b(n)
    i = 0
    while i < n
      i += 1
    end
    i
  end
end

$cpu = { a: 0.0, b: 0.0 }
trap("USR1") { puts format("usr1 a=%.6f b=%.6f", $cpu[:a], $cpu[:b]) }

b = Burner.new
clock = Process::CLOCK_THREAD_CPUTIME_ID
puts "ready #{Process.pid}"
loop do
  t0 = Process.clock_gettime(clock)
  b.burn_a(30_000)
  t1 = Process.clock_gettime(clock)
  b.burn_b(10_000)
  t2 = Process.clock_gettime(clock)
  $cpu[:a] += t1 - t0
  $cpu[:b] += t2 - t1
end
