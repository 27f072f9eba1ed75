# Bench workload: waits for the file ARGV[1], then hashes ARGV[0] passwords with bcrypt (cost 4,
# each reaching libcrypt's crypt_ra once) and prints the loop's elapsed nanoseconds.
require "bcrypt"
n = Integer(ARGV[0])
salt = BCrypt::Engine.generate_salt(4)
$stdout.sync = true
puts "ready #{Process.pid}"
sleep 0.001 until File.exist?(ARGV[1])
t = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
n.times { |i| BCrypt::Engine.hash_secret("pw#{i}", salt) }
puts "elapsed_ns #{Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t}"
