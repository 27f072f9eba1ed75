import io.tansa.net.FdReport;
import io.tansa.net.Sockets;
import java.util.Arrays;
import java.util.List;

/**
 * In-process timings (no JVM start) of the two library entry points behind `tansa fds` and
 * `tansa sockets -a --listen`: the first (cold) call and the median of the following ones.
 * Usage: java -cp target/tansa.jar:target/lib/* bench/NetBench.java PID RUNS
 */
public class NetBench {
    public static void main(String[] a) {
        int pid = Integer.parseInt(a[0]), runs = Integer.parseInt(a[1]);
        report("fds -p", runs, () -> FdReport.inspect(pid).fds().size());
        report("sockets -a --listen", runs, () -> Sockets.query(List.of(), true).size());
    }

    static void report(String what, int runs, java.util.function.IntSupplier task) {
        long t0 = System.nanoTime();
        int n = task.getAsInt();
        double cold = (System.nanoTime() - t0) / 1e6;
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            task.getAsInt();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf("in-process %-20s rows %6d  cold %7.1f ms  warm median %7.1f ms%n", what, n, cold, ms[runs / 2]);
    }
}
