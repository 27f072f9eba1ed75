import io.tansa.profile.Frame;
import io.tansa.ruby.NmSymbols;
import io.tansa.ruby.RubyReader;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import java.util.Arrays;
import java.util.List;

/**
 * Per-stop cost of reading a Ruby thread's frames with tansa's RubyReader: the main thread of
 * PID is stopped N times (PTRACE_INTERRUPT), its frames read, and resumed. Prints the median
 * microseconds of the read alone and of stop+read+resume. Run by bench/ruby-frames.sh.
 */
public class RubyFrames {
    public static void main(String[] a) {
        int pid = Integer.parseInt(a[0]), n = Integer.parseInt(a[1]);
        RubyReader reader = RubyReader.detect(pid, new NmSymbols(pid)).orElseThrow();
        Ptrace.seize(pid, 0);
        long[] read = new long[n], total = new long[n];
        int depth = 0;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            Ptrace.interrupt(pid);
            while (true) { // deliver any signal that comes first; stop at the interrupt
                Ptrace.Wait w = Ptrace.waitpid(pid, Ptrace.WALL);
                if (w.event() == Ptrace.EVENT_STOP) break;
                Ptrace.cont(pid, w.stopSig());
            }
            Regs regs = Ptrace.getRegs(pid);
            long t1 = System.nanoTime();
            List<Frame> frames = reader.frames(pid, regs);
            long t2 = System.nanoTime();
            Ptrace.cont(pid, 0);
            long t3 = System.nanoTime();
            read[i] = t2 - t1;
            total[i] = t3 - t0;
            depth = Math.max(depth, frames.size());
        }
        Ptrace.interrupt(pid);
        Ptrace.waitpid(pid, Ptrace.WALL);
        Ptrace.detach(pid, 0);
        System.out.printf("tansa frames() median %.1f us; stop+frames+resume median %.1f us; up to %d frames%n",
                median(read) / 1000.0, median(total) / 1000.0, depth);
    }

    static long median(long[] v) {
        long[] w = Arrays.copyOfRange(v, v.length / 2, v.length); // second half: after warm-up
        Arrays.sort(w);
        return w[w.length / 2];
    }
}
