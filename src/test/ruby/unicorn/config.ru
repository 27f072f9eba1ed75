# A Rack app whose two endpoints reach bcrypt's crypt_ra through different Ruby code.
require "bcrypt"

module Api
  SALT = BCrypt::Engine.generate_salt(4)

  def self.login(pw)
    BCrypt::Engine.hash_secret(pw, SALT)
  end

  def self.signup(pw)
    BCrypt::Password.create(pw, cost: 4)
  end
end

run lambda { |env|
  case env["PATH_INFO"]
  when "/login" then Api.login("secret")
  when "/signup" then Api.signup("new")
  else return [404, {}, []]
  end
  [200, { "content-type" => "text/plain" }, ["ok #{Process.pid}\n"]]
}
