# After SIGUSR1: forks a child that hashes in work_before until this process has exec'd `sleep`,
# then in work_after until this process ends. Usage: exec_parent.rb
require "bcrypt"
$stdout.sync = true

def work_before = BCrypt::Password.create("b", cost: 4)
def work_after = BCrypt::Password.create("a", cost: 4)

go = false
Signal.trap("USR1") { go = true }
puts "ready #{Process.pid}"
sleep 0.01 until go
parent = Process.pid
r, w = IO.pipe
fork do
  w.puts "started"
  work_before until File.read("/proc/#{parent}/comm").strip == "sleep"
  puts "after exec"
  work_after while Process.ppid == parent # ends with the test's kill of `sleep`
end
r.gets
exec "sleep", "3600"
