# Two named Ruby threads reach zlib's crc32_z through different methods (any Ruby from 2.7 on:
# no endless methods, no bcrypt): each hit must carry the frames of the thread that made it. The
# sleeps hand the GVL over, so both threads hit within any 100 calls.
require "zlib"
$stdout.sync = true

def work_alpha
  Zlib.crc32("a" * 65536, 0)
end

def work_beta
  Zlib.crc32("b" * 65536, 0)
end

ts = [Thread.new { Thread.current.name = "alpha"; loop { work_alpha; sleep 0.001 } },
      Thread.new { Thread.current.name = "beta"; loop { work_beta; sleep 0.001 } }]
puts "ready #{Process.pid}"
ts.each(&:join)
