# Calls libc's clock_gettime from Ruby code, in a loop (sleep calls it too): a function the JVM
# calls all the time as well.
$stdout.sync = true

def tick = Process.clock_gettime(Process::CLOCK_MONOTONIC)

puts "ready #{Process.pid}"
loop do
  tick
  sleep 0.001
end
