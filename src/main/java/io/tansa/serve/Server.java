package io.tansa.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.tansa.Failure;
import io.tansa.proc.FdTable;
import io.tansa.proc.ProcFs;
import io.tansa.profile.Profile;
import io.tansa.report.FoldedRenderer;
import io.tansa.report.JsonRenderer;
import io.tansa.report.PprofRenderer;
import io.tansa.report.Renderer;
import io.tansa.report.SpeedscopeRenderer;
import io.tansa.sys.SysException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * {@code tansa serve}: an HTTP(S) server (the JDK's com.sun.net.httpserver) answering
 * <ul>
 * <li>{@code GET /metrics} — listen queues and listen overflow counters ({@link ListenMetrics});</li>
 * <li>{@code GET /debug/pprof/profile?pid=P&seconds=S} — a CPU profile of P ({@code &lang=ruby}: its Ruby methods);</li>
 * <li>{@code GET /debug/pprof/callers?pid=P&symbol=SYM&seconds=S&count=N} — the callers of SYM in P;</li>
 * </ul>
 * the target given as {@code pid=P} or {@code comm=NAME} (the processes of that name {@code --allow} matches);
 * profiles as gzipped pprof ({@code go tool pprof}, Parca, Pyroscope) or {@code ?format=folded|speedscope|json}.
 *
 * <p>It runs as root and can probe any process, so: a bearer token (when configured, on every
 * path) compared in constant time; profiles only of processes an {@link Allow} selector matches
 * (none without one); durations and counts capped; one capture per target; every capture logged.
 * Requests run on a fixed pool of threads with a bounded queue (a slow client holds one thread, a
 * request the queue cannot take is refused), reading a request is limited to 10 s and answering
 * one to the longest capture plus 60 s.
 */
public final class Server implements AutoCloseable {
    /**
     * How to serve: address, optional token (null: no authentication; loopback only), optional TLS,
     * who may be profiled, capture limits, request threads, and where log lines go.
     */
    public record Config(InetSocketAddress address, String token, SSLContext tls, Allow allow, Captures.Limits limits,
            int threads, Consumer<String> log) {}

    /** Default seconds of a capture when the request gives none (pprof's /profile default). */
    static final double DEFAULT_SECONDS = 30;
    /** Default hits of a callers capture (tansa callers' -n). */
    static final long DEFAULT_COUNT = 1000;

    /** Requests waiting for a thread; beyond that the server closes new connections at once. */
    static final int QUEUE = 1024;

    private final Config config;
    private final HttpServer http;
    private final ThreadPoolExecutor pool;
    private final ListenMetrics metrics;
    private final Captures captures;
    private final byte[] tokenDigest;

    private Server(Config config) throws IOException {
        this.config = config;
        this.captures = new Captures(config.limits());
        this.metrics = new ListenMetrics(config.allow());
        this.tokenDigest = config.token() == null ? null : sha256("Bearer " + config.token());
        // ServerConfig reads these once, when the first server is made (jdk.httpserver's module docs)
        System.setProperty("sun.net.httpserver.maxReqTime", "10");
        System.setProperty("sun.net.httpserver.maxRspTime",
                Long.toString(config.limits().maxDuration().toSeconds() + 60));
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(config.threads(), config.threads(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE),
                r -> Thread.ofPlatform().daemon().name("tansa-serve-" + n.incrementAndGet()).unstarted(r));
        if (config.tls() != null) {
            HttpsServer s = HttpsServer.create(config.address(), 128);
            s.setHttpsConfigurator(new HttpsConfigurator(config.tls()));
            http = s;
        } else {
            http = HttpServer.create(config.address(), 128);
        }
        http.setExecutor(pool);
        http.createContext("/", this::handle);
    }

    /**
     * Starts serving. A non-loopback address without a token is refused: the server can put
     * probes into any process it is allowed to.
     */
    public static Server start(Config config) {
        if (!config.address().getAddress().isLoopbackAddress() && config.token() == null) {
            throw new Failure(Failure.Kind.USAGE, "listening on " + config.address().getAddress().getHostAddress()
                    + " (not loopback) needs --token-file: anyone who reaches the port could read or probe processes");
        }
        if (config.threads() <= config.limits().maxConcurrent()) {
            throw new Failure(Failure.Kind.USAGE, "--threads must be more than --max-captures, so that scrapes are"
                    + " answered while captures run");
        }
        try {
            Server s = new Server(config);
            s.http.start();
            return s;
        } catch (java.net.BindException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot listen on " + config.address() + ": " + e.getMessage());
        } catch (IOException e) {
            throw new Failure(Failure.Kind.INTERNAL, "cannot start the server: " + e.getMessage(), e);
        }
    }

    /** The bound address (the actual port when 0 was asked for). */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** The URL of the server: the address asked for (not the dual-stack socket's "::"), the bound port. */
    public String url() {
        String host = config.address().getAddress().getHostAddress();
        if (host.contains(":")) host = "[" + host + "]";
        return (config.tls() != null ? "https" : "http") + "://" + host + ":" + address().getPort();
    }

    /** Stops running captures (they detach), then the server. */
    @Override
    public void close() {
        captures.stopAll(Duration.ofSeconds(10));
        http.stop(0);
        pool.shutdownNow();
    }

    /** A request's answer: status, content type, body. */
    private record Answer(int status, String type, byte[] body) {
        static Answer text(int status, String message) {
            // one line, whatever a request put into the message
            return new Answer(status, "text/plain; charset=utf-8",
                    (message.replaceAll("\\p{Cntrl}", "?") + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A request refused with a status and a one-line reason. */
    private static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String reason) {
            super(reason);
            this.status = status;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        long arrived = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        boolean capture = path.startsWith("/debug/pprof/");
        Map<String, String> q = Map.of();
        Answer a;
        try {
            if (tokenDigest != null && !authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"tansa\"");
                throw new Refused(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)");
            }
            boolean head = ex.getRequestMethod().equals("HEAD");
            if (!ex.getRequestMethod().equals("GET") && !(head && !capture)) {
                throw new Refused(405, capture ? "only GET starts a capture" : "only GET and HEAD are served");
            }
            q = query(ex.getRequestURI().getRawQuery());
            a = switch (path) {
                case "/metrics" -> new Answer(200, metrics.contentType(), metrics.scrape(arrived));
                case "/debug/pprof/profile", "/debug/pprof/callers" -> profile(ex, path.endsWith("callers"), q);
                case "/" -> Answer.text(200, "tansa serve: /metrics, /debug/pprof/profile?pid=P&seconds=S[&lang=ruby],"
                        + " /debug/pprof/callers?pid=P&symbol=SYM&seconds=S&count=N (comm=NAME for pid=P;"
                        + " &format=folded|speedscope|json)");
                default -> throw new Refused(404, "no such path: " + path);
            };
        } catch (Refused r) {
            a = Answer.text(r.status, r.getMessage());
        } catch (Captures.ClientGone g) {
            log(ex, path, q, "client disconnected: capture stopped, target detached", arrived);
            ex.close();
            return;
        } catch (Captures.Busy b) {
            a = Answer.text(429, b.getMessage());
        } catch (Failure f) {
            a = Answer.text(status(f.kind()), f.getMessage());
        } catch (SysException.ProcessGoneException e) {
            a = Answer.text(404, "no such process: " + e.getMessage());
        } catch (SysException.PermissionException e) {
            a = Answer.text(403, "permission denied: " + e.getMessage());
        } catch (RuntimeException e) {
            a = Answer.text(500, "internal error: " + e);
        }
        if (capture || a.status() >= 500) {
            log(ex, path, q, a.status() + (a.status() == 200 ? "" : " " + firstLine(a.body())), arrived);
        }
        try (ex) {
            ex.getResponseHeaders().set("Content-Type", a.type());
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(a.status(), -1);
                return;
            }
            ex.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(a.body());
            }
        } catch (IOException e) {
            // the client left before reading the answer
        }
    }

    private static String firstLine(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8).strip();
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Every capture request, one line: client, path, target, symbol, duration asked, outcome, time taken. */
    private void log(HttpExchange ex, String path, Map<String, String> q, String outcome, long arrived) {
        if (config.log() == null) return;
        StringBuilder b = new StringBuilder();
        b.append(ex.getRemoteAddress().getAddress().getHostAddress()).append(':').append(ex.getRemoteAddress().getPort())
                .append(' ').append(ex.getRequestMethod()).append(' ').append(path);
        for (String k : new String[] {"pid", "comm", "symbol", "seconds", "count", "format"}) {
            // control characters (a %0A in symbol=) would forge log lines
            if (q.containsKey(k)) b.append(' ').append(k).append('=').append(q.get(k).replaceAll("\\p{Cntrl}", "?"));
        }
        b.append(" → ").append(outcome).append(String.format(Locale.ROOT, " (%.1f s)", (System.nanoTime() - arrived) / 1e9));
        config.log().accept(b.toString());
    }

    static int status(Failure.Kind kind) {
        return switch (kind) {
            case USAGE, AMBIGUOUS -> 400;
            case PERMISSION -> 403;
            case NO_SUCH_PROCESS, SYMBOL_NOT_FOUND, TARGET_EXITED, CONTAINER_NOT_FOUND -> 404;
            case UNSUPPORTED, NAMESPACE, BINARY_CHANGED, NOT_MOUNTED -> 422;
            case INTERNAL -> 500;
        };
    }

    private boolean authorized(String header) {
        // Digests of equal length compared with MessageDigest.isEqual, which takes the same time
        // wherever they differ: neither the token nor its length leaks through timing.
        return header != null && MessageDigest.isEqual(tokenDigest, sha256(header.strip()));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Answer profile(HttpExchange ex, boolean callers, Map<String, String> q) throws IOException {
        String f = q.getOrDefault("format", "pprof");
        Renderer r = switch (f) {
            case "pprof" -> new PprofRenderer();
            case "folded" -> new FoldedRenderer();
            case "speedscope" -> new SpeedscopeRenderer();
            case "json" -> new JsonRenderer();
            default -> throw new Refused(400, "format must be pprof, folded, speedscope or json, not '" + f + "'");
        };
        if (q.containsKey("pid") == q.containsKey("comm")) {
            throw new Refused(400, "give the target as pid=PID or comm=NAME (every process of that name --allow matches)");
        }
        Captures.Limits lim = captures.limits();
        double seconds = number(q, "seconds", Math.min(DEFAULT_SECONDS, lim.maxDuration().toSeconds()));
        if (!(seconds > 0) || seconds > lim.maxDuration().toMillis() / 1000.0) {
            throw new Refused(400, "seconds must be more than 0 and at most " + lim.maxDuration().toSeconds()
                    + " (the server's --max-seconds), not " + q.get("seconds"));
        }
        Duration d = Duration.ofMillis((long) (seconds * 1000));
        String lang = q.getOrDefault("lang", "native");
        if (!lang.equals("native") && !lang.equals("ruby")) throw new Refused(400, "lang must be native or ruby, not '" + lang + "'");
        if (callers && q.containsKey("lang")) throw new Refused(400, "lang= is for /debug/pprof/profile (callers finds a Ruby's frames itself)");
        String symbol = q.get("symbol");
        long count = 0;
        if (callers) {
            if (symbol == null || symbol.isBlank()) throw new Refused(400, "symbol=SYMBOL is required (e.g. symbol=crypt_ra)");
            double c = number(q, "count", Math.min(DEFAULT_COUNT, lim.maxCount()));
            if (c != Math.rint(c) || c < 1 || c > lim.maxCount()) {
                throw new Refused(400, "count must be a whole number from 1 to " + lim.maxCount()
                        + " (the server's --max-count), not " + q.get("count"));
            }
            count = (long) c;
        }
        if (config.allow().none()) {
            throw new Refused(403, "profiles are off: this server was started without --allow (metrics only)");
        }
        List<Integer> pids = targets(q);
        Captures.Client client = new Captures.Client(ex.getLocalAddress().getPort(), ex.getRemoteAddress().getPort());
        Profile p = callers
                ? captures.callers(pids, symbol, d, count, client,
                        config.log() == null ? null : line -> config.log().accept("pid " + pids + ": " + line))
                : lang.equals("ruby") ? captures.rubyCpu(pids, d, client) : captures.cpu(pids, d, client);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        r.render(p, out);
        String type = switch (f) {
            case "pprof" -> "application/octet-stream";
            case "folded" -> "text/plain; charset=utf-8";
            default -> "application/json";
        };
        return new Answer(200, type, out.toByteArray());
    }

    /** Most processes one comm= request captures at once. */
    static final int MAX_TARGETS = 64;

    /**
     * The processes a request names: pid=PID, which --allow must match; or comm=NAME, every process
     * of that name --allow matches (a Unicorn master and its workers), so that a scrape config
     * outlives restarts.
     */
    private List<Integer> targets(Map<String, String> q) {
        if (q.containsKey("pid")) {
            int pid = pid(q.get("pid"));
            if (config.allow().match(pid) == null) {
                throw new Refused(403, "pid " + pid + " is not matched by --allow " + config.allow().selectors());
            }
            return List.of(pid);
        }
        String comm = q.get("comm");
        List<Integer> named = new ArrayList<>(), allowed = new ArrayList<>();
        for (int pid : FdTable.pids()) {
            String c;
            try {
                c = ProcFs.comm(pid, pid);
            } catch (RuntimeException gone) {
                continue;
            }
            if (!c.equals(comm)) continue;
            named.add(pid);
            if (config.allow().match(pid) != null) allowed.add(pid);
        }
        if (named.isEmpty()) throw new Refused(404, "no process named '" + comm + "'");
        if (allowed.isEmpty()) {
            throw new Refused(403, "no process named '" + comm + "' is matched by --allow " + config.allow().selectors());
        }
        if (allowed.size() > MAX_TARGETS) {
            throw new Refused(400, allowed.size() + " processes named '" + comm + "': at most " + MAX_TARGETS + " per capture");
        }
        return allowed;
    }

    private static int pid(String s) {
        if (s == null) throw new Refused(400, "pid=PID is required");
        try {
            int pid = Integer.parseInt(s);
            if (pid > 0) return pid;
        } catch (NumberFormatException e) {
            // below
        }
        throw new Refused(400, "pid must be a process id, not '" + s + "'");
    }

    private static double number(Map<String, String> q, String key, double dflt) {
        String s = q.get(key);
        if (s == null) return dflt;
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new Refused(400, key + " must be a number, not '" + s + "'");
        }
    }

    static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) return out;
        for (String part : raw.split("&")) {
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            if (out.putIfAbsent(k, v) != null) throw new Refused(400, "parameter " + k + " given twice");
        }
        return out;
    }
}
