# Bench workload for every Ruby series: waits for the file ARGV[1], then makes ARGV[0] calls of
# Zlib.crc32 (libz's crc32_z, one hit each) from a Ruby method three frames below <main>, and
# prints the loop's elapsed nanoseconds. Zlib is in every Ruby Debian ships (bcrypt is not: 3.4).
require "zlib"
n = Integer(ARGV[0])
$stdout.sync = true

module Work
  def self.checksum(s)
    Zlib.crc32(s, 0) # with the initial value: one crc32_z call (without, Ruby makes a second to get it)
  end

  def self.round(i)
    checksum("pw#{i}")
  end
end

puts "ready #{Process.pid}"
sleep 0.001 until File.exist?(ARGV[1])
t = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
n.times { |i| Work.round(i) }
puts "elapsed_ns #{Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t}"
# lives on a moment: copy mode names a hit's Ruby methods from the live process after the hit
# (a process that exits right after its hits keeps only native frames: issue 13, item 7)
sleep 0.5
