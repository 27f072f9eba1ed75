package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.serve.Allow;
import io.tansa.serve.Captures;
import io.tansa.serve.Server;
import io.tansa.serve.Tls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve listen queues to Prometheus (GET /metrics) and profiles to pprof scrapers"
                + " (GET /debug/pprof/profile?pid=P&seconds=S, /debug/pprof/callers?pid=P&symbol=SYM&seconds=S&count=N).",
            "Binds 127.0.0.1 by default; another address needs --token-file. Profiles only of processes --allow matches."},
        footer = {"", "Examples:", "  tansa serve", "  tansa serve --allow comm=ruby --allow cgroup=/system.slice/unicorn.service",
            "  tansa serve --listen 0.0.0.0:9977 --token-file /etc/tansa/token --tls-cert c.pem --tls-key k.pem"})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--listen", paramLabel = "ADDR:PORT", description = "Where to listen (default ${DEFAULT-VALUE}).")
    String listen = "127.0.0.1:9977";

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "Require 'Authorization: Bearer TOKEN' on every request, TOKEN being this file's content (trimmed).")
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve HTTPS with this certificate chain (PEM, leaf first).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (PEM: PKCS#8 or RSA PKCS#1, unencrypted).")
    Path tlsKey;

    @Option(names = "--tls-keystore", paramLabel = "P12", description = "Serve HTTPS with this PKCS#12 key store instead of PEM files.")
    Path tlsKeystore;

    @Option(names = "--tls-keystore-password-file", paramLabel = "FILE", description = "The password of --tls-keystore.")
    Path tlsKeystorePassword;

    @Option(names = "--allow", paramLabel = "SELECTOR", description = "Processes that may be profiled (repeatable; any match):"
            + " comm=NAME, cgroup=PATH (and below), uid=UID, pid=PID. Without it the profile endpoints answer 403.")
    List<String> allow = new ArrayList<>();

    @Option(names = "--max-seconds", paramLabel = "S", description = "Longest capture a request may ask for (default ${DEFAULT-VALUE}).")
    int maxSeconds = 60;

    @Option(names = "--max-count", paramLabel = "N", description = "Most hits a callers request may ask for (default ${DEFAULT-VALUE}).")
    long maxCount = 100_000;

    @Option(names = "--max-captures", paramLabel = "N", description = "Captures running at once, one per target (default ${DEFAULT-VALUE}).")
    int maxCaptures = 2;

    @Option(names = "--freq", paramLabel = "HZ", description = "CPU profile samples per second (default ${DEFAULT-VALUE}).")
    int frequency = 99;

    @Option(names = "--threads", paramLabel = "N", description = "Request threads (default ${DEFAULT-VALUE}).")
    int threads = 8;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (maxSeconds < 1 || maxCount < 1 || maxCaptures < 1 || frequency < 1 || threads < 2) {
            throw new Failure(Failure.Kind.USAGE, "--max-seconds, --max-count, --max-captures, --freq must be at least 1,"
                    + " --threads at least 2");
        }
        Server.Config config = new Server.Config(address(listen), token(), tls(), Allow.parse(allow),
                new Captures.Limits(Duration.ofSeconds(maxSeconds), maxCount, maxCaptures, frequency), threads,
                s -> log("%s", s)); // every capture request is logged, on stderr (the journal under systemd)
        CountDownLatch stopped = new CountDownLatch(1);
        Server server = Server.start(config);
        // SIGINT/SIGTERM: running captures stop and detach, then the server closes
        try (StopOnSignal onSignal = new StopOnSignal(() -> {
            server.close();
            stopped.countDown();
        })) {
            log("listening on %s (metrics: %s/metrics; profiles: %s)", server.url(), server.url(),
                    config.allow().none() ? "off, no --allow" : "--allow " + config.allow().selectors());
            stopped.await();
        }
        return 0;
    }

    private static void log(String fmt, Object... args) {
        System.err.printf(Locale.ROOT, "tansa serve: " + fmt + "%n", args);
        System.err.flush();
    }

    static InetSocketAddress address(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon < 0) throw new Failure(Failure.Kind.USAGE, "--listen takes ADDR:PORT (e.g. 127.0.0.1:9977), not '" + spec + "'");
        String host = spec.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(spec.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) throw new Failure(Failure.Kind.USAGE, "--listen: bad port in '" + spec + "'");
        try {
            // a literal or a name resolved once, at start
            return new InetSocketAddress(host.isEmpty() ? InetAddress.getByName("0.0.0.0") : InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new Failure(Failure.Kind.USAGE, "--listen: unknown host '" + host + "'");
        }
    }

    private String token() throws IOException {
        if (tokenFile == null) return null;
        String t;
        try {
            t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot read --token-file " + tokenFile + ": " + e.getMessage());
        }
        if (t.length() < 16 || t.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new Failure(Failure.Kind.USAGE, "--token-file " + tokenFile + ": the token must be at least 16 printable"
                    + " characters without spaces (e.g. openssl rand -hex 32)");
        }
        return t;
    }

    private SSLContext tls() throws IOException {
        if (tlsKeystore != null) {
            if (tlsCert != null || tlsKey != null) throw new Failure(Failure.Kind.USAGE, "give --tls-keystore or --tls-cert/--tls-key, not both");
            char[] pw = tlsKeystorePassword == null ? new char[0]
                    : Files.readString(tlsKeystorePassword, StandardCharsets.UTF_8).strip().toCharArray();
            return Tls.fromPkcs12(tlsKeystore, pw);
        }
        if ((tlsCert == null) != (tlsKey == null)) throw new Failure(Failure.Kind.USAGE, "--tls-cert and --tls-key go together");
        return tlsCert == null ? null : Tls.fromPem(tlsCert, tlsKey);
    }
}
