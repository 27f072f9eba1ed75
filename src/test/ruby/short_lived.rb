# Hashes once in each of N short-lived children (fork) or threads (thread), one after another,
# after SIGUSR1: each exits before the next starts. Usage: short_lived.rb fork|thread N
require "bcrypt"

def job(i)
  BCrypt::Password.create("pw#{i}", cost: 4) # line 6: job's call
end

kind, n = ARGV[0], ARGV[1].to_i
$stdout.sync = true
go = false
Signal.trap("USR1") { go = true }
puts "ready"
sleep 0.01 until go
n.times do |i|
  if kind == "fork"
    Process.wait(fork { job(i) }) # line 17: the child's block
  else
    Thread.new { job(i) }.join # line 19: the thread's block
  end
end
puts "done #{n}"
sleep
