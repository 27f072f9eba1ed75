# Three code paths reach zlib's crc32_z (libz.so.1, through Zlib.crc32 of the zlib extension) in the
# proportions 1 : 2 : 3 per round: signup, login and rehash, as crc_paths.rb. It warms up first
# (WARM rounds, default 200: far above YJIT's call threshold, 30 in 3.3) so that under --yjit every
# method on the paths is compiled before it says ready, and says whether YJIT is on.
require "zlib"
$stdout.sync = true

module Accounts
  def self.signup(pw)
    Zlib.crc32(pw * 65536, 0)
  end

  def self.login(pw)
    Zlib.crc32(pw * 65536, 0) == 0
  end

  def self.rehash(pw)
    Zlib.crc32(pw * 65536, 1)
  end
end

def round
  Accounts.signup("a")
  2.times { Accounts.login("b") }
  3.times { Accounts.rehash("c") }
end

Integer(ENV.fetch("WARM", "200")).times { round }
yjit = defined?(RubyVM::YJIT) && RubyVM::YJIT.enabled?
compiled = yjit ? RubyVM::YJIT.runtime_stats[:compiled_iseq_count] : 0
puts "ready #{Process.pid} yjit=#{yjit ? true : false} compiled=#{compiled}"
loop { round }
