package io.tansa.serve;

import io.tansa.testing.Tansa;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code tansa serve} process for a test, on a free loopback port unless told otherwise; killed on close. */
final class Serve implements AutoCloseable {
    final Tansa tansa;
    final String url;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static final Pattern URL = Pattern.compile("listening on (https?://\\S+)");

    private Serve(Tansa tansa, String url) {
        this.tansa = tansa;
        this.url = url;
    }

    static Serve start(String... args) {
        List<String> a = new ArrayList<>(List.of("serve"));
        if (!List.of(args).contains("--listen")) a.addAll(List.of("--listen", "127.0.0.1:0"));
        a.addAll(List.of(args));
        Tansa t = Tansa.start(a.toArray(String[]::new));
        try {
            Matcher m = URL.matcher(t.awaitErr("listening on "));
            if (!m.find()) throw new AssertionError("no URL in tansa serve's first line: " + t.err());
            return new Serve(t, m.group(1));
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    int pid() {
        return (int) tansa.process.pid();
    }

    int port() {
        return URI.create(url).getPort();
    }

    HttpResponse<byte[]> get(String pathAndQuery, String token) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + pathAndQuery)).timeout(Duration.ofSeconds(120));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    HttpResponse<byte[]> get(String pathAndQuery) throws IOException, InterruptedException {
        return get(pathAndQuery, null);
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    /** Open fds of this server process. */
    long fds() throws IOException {
        try (var s = Files.list(Path.of("/proc/" + pid() + "/fd"))) {
            return s.count();
        }
    }

    @Override
    public void close() {
        http.close();
        tansa.close();
        try {
            tansa.process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
