# Two named Ruby threads reach crypt_ra through different methods: each hit must carry the frames
# of the thread that made it.
require "bcrypt"
$stdout.sync = true
SALT = BCrypt::Engine.generate_salt(4)

def work_alpha = BCrypt::Engine.hash_secret("a", SALT)
def work_beta = BCrypt::Engine.hash_secret("b", SALT)

ts = [Thread.new { Thread.current.name = "alpha"; loop { work_alpha } },
      Thread.new { Thread.current.name = "beta"; loop { work_beta } }]
puts "ready #{Process.pid}"
ts.each(&:join)
