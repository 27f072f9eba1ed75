# Three code paths reach bcrypt's crypt_ra (libcrypt.so.1) in the proportions 1 : 2 : 3 per
# round: signup (Password.create), login (Password#==) and a rehash through Engine.hash_secret.
require "bcrypt"
$stdout.sync = true

module Accounts
  SALT = BCrypt::Engine.generate_salt(4)
  STORED = BCrypt::Password.create("secret", cost: 4)

  def self.signup(pw)
    BCrypt::Password.create(pw, cost: 4)
  end

  def self.login(pw)
    STORED == pw
  end

  def self.rehash(pw)
    BCrypt::Engine.hash_secret(pw, SALT)
  end
end

puts "ready #{Process.pid}"
loop do
  Accounts.signup("a")
  2.times { Accounts.login("b") }
  3.times { Accounts.rehash("c") }
end
