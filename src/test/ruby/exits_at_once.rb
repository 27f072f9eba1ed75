# A short-lived command (a cron job, a Rake task, a test run): exactly N calls of zlib's crc32 from
# known methods at known lines, then an immediate exit with a known status. Zlib.crc32(s, 0) makes one
# crc32 call (without a start value, zlib's do_checksum first asks crc32(0, NULL, 0) for it: two).
# Usage: exits_at_once.rb N STATUS [wait|first]. With "wait": prints "ready PID" and makes its N calls
# at SIGUSR1. With "first": one call at the first SIGUSR1 (then prints "first done"), the other N - 1
# at the second.
require "zlib"
$stdout.sync = true

module ShortLived
  def self.leaf(s)
    Zlib.crc32(s, 0)
  end

  def self.outer(n)
    n.times { |i| leaf("x#{i}") }
  end
end

n, status = Integer(ARGV[0]), Integer(ARGV[1])
if ARGV[2]
  go = 0
  Signal.trap("USR1") { go += 1 }
  puts "ready #{Process.pid}"
  sleep 0.01 until go >= 1
end
if ARGV[2] == "first"
  ShortLived.outer(1)
  puts "first done"
  sleep 0.01 until go >= 2
  n -= 1
end
ShortLived.outer(n)
exit status
