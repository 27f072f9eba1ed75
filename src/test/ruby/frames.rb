# Workload for RubyReaderTest. The main thread and three named threads run distinct methods
# forever; the test checks every sampled frame against this file's own lines.
$stdout.sync = true

module Walk
  def self.deep(depth, n)
    if depth.zero?
      spin(n)
    else
      deep(depth - 1, n)
    end
  end

  def self.spin(n)
    total = 0
    n.times do |i|
      total += leaf(i)
    end
    total
  end

  def self.leaf(i)
    words = %w[a b c]
    words.map { |w| w * (i % 3) }.join.size
  end
end

class Alpha
  def alpha_loop
    loop { alpha_step(200) }
  end

  def alpha_step(n)
    acc = []
    n.times { |i| acc << i.to_s }
    acc.size
  end
end

class Beta
  def beta_loop
    loop { beta_step }
  end

  def beta_step
    h = {}
    50.times { |i| h[i] = i * 2 }
    h.sum { |k, v| k + v }
  end
end

# Gamma runs its work inside a Fiber: its frames are the fiber's.
class Gamma
  def gamma_loop
    fiber = Fiber.new { loop { gamma_step; Fiber.yield } }
    loop { fiber.resume }
  end

  def gamma_step
    30.times { |i| i.to_s * 2 }
  end
end

alpha = Thread.new { Alpha.new.alpha_loop }
alpha.name = "alpha"
beta = Thread.new { Beta.new.beta_loop }
beta.name = "beta"
gamma = Thread.new { Gamma.new.gamma_loop }
gamma.name = "gamma"
# Padding: 80 statements on their own lines push the main loop's instruction position past
# 566, into the second 512-slot block of the iseq's succinct line table.
v = 0
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
v += 1
puts "ready #{Process.pid}"
loop { Walk.deep(14, 300) }
