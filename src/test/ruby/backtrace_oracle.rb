# Oracle for tansa's ruby and bugreport formats: a fixed Ruby stack whose frames the test
# knows. Without CRASH it prints "ready" and sleeps (gdb then calls rb_backtrace()); with
# CRASH=1 it raises SIGSEGV on itself so Ruby prints its [BUG] report.
class Foo
  def bar
    ENV["CRASH"] ? Process.kill(:SEGV, $$) : ($stdout.puts("ready #{Process.pid}"); $stdout.flush; sleep)
  end
end
def baz
  [1].each { Foo.new.bar }
end
baz
