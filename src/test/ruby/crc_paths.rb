# Three code paths reach zlib's crc32_z (libz.so.1, through Zlib.crc32 of the zlib extension) in the
# proportions 1 : 2 : 3 per round: signup, login and rehash. Any Ruby runs it: Debian's 3.4 in
# experimental has no ruby-bcrypt built for it, and its String#crypt does not call libcrypt.
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

puts "ready #{Process.pid}"
loop do
  Accounts.signup("a")
  2.times { Accounts.login("b") }
  3.times { Accounts.rehash("c") }
end
