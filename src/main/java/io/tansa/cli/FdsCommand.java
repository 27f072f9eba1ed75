package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.net.FdReport;
import io.tansa.proc.IdentityReader;
import io.tansa.profile.Identity;
import io.tansa.report.FdsJson;
import io.tansa.report.FdsText;
import io.tansa.report.Format;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "fds", mixinStandardHelpOptions = true,
        description = {"What a process holds: every fd typed, with details and peers.",
            "Types: file, pipe, unix, tcp, eventfd, epoll, anon_inode:kvm-vcpu, ...; details from fdinfo "
                + "(flags, pos, counts, watches, timers), socket addresses and queues from sock_diag, and the "
                + "process/fd at the other end of UNIX sockets and pipes."})
public final class FdsCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--summary", description = "Group the fds: '24 × anon_inode:kvm-vcpu', '3 × tcp listen'.")
    boolean summary;

    @Override
    public Integer call() {
        if (common.pids().size() > 1 && common.pidSpecs.size() == 1) {
            throw new Failure(Failure.Kind.USAGE, "fds takes one process; " + common.pidSpecs.get(0) + " holds "
                    + common.pids().size() + " (pids " + common.pids() + "): pick one with -p PID");
        }
        if (common.pids().size() != 1) throw new Failure(Failure.Kind.USAGE, "fds needs exactly one -p PID");
        Format format = common.tableFormat("fds");
        FdReport r = FdReport.inspect(common.pids().get(0));
        Identity id = IdentityReader.of(r.pid());
        OutputStream os = common.openOutput();
        PrintStream out = new PrintStream(os, false, StandardCharsets.UTF_8);
        if (format == Format.JSON) FdsJson.render(r, id, summary, out);
        else FdsText.render(r, id, summary, out);
        out.flush();
        Common.uncheckedClose(os);
        return 0;
    }
}
