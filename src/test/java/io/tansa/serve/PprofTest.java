package io.tansa.serve;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code go tool pprof} (Debian's golang-go) fetches both profile endpoints of a running tansa
 * serve, as it fetches a Go program's, and sees the functions and paths the targets are known to
 * run: top_burn's main → work → burn_a/burn_b, and a Ruby program's methods (Accounts.signup, .login, .rehash) reaching
 * bcrypt's crypt_ra.
 */
@Tag("oracle")
class PprofTest {
    static Path dir;
    static Target burn;
    static Serve serve;

    @BeforeAll
    static void start() throws Exception {
        Privileged.requireRoot();
        dir = Files.createTempDirectory("tansa-pprof");
        burn = Target.start(Native.build("top_burn").toString());
        burn.awaitLine("ready");
        serve = Serve.start("--allow", "pid=" + burn.pid(), "--allow", "comm=ruby");
    }

    @AfterAll
    static void stop() throws Exception {
        if (serve != null) serve.close();
        if (burn != null) burn.close();
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /** {@code go tool pprof ARGS URL}'s stdout; fails on a non-zero exit. */
    static String pprof(String url, String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", "PPROF_TMPDIR=" + dir, "HOME=" + dir, "GOCACHE=" + dir.resolve("go"),
                "go", "tool", "pprof"));
        cmd.addAll(List.of(args));
        cmd.add(url);
        Native.Result r = Native.run(cmd);
        assertEquals(0, r.code(), "go tool pprof " + String.join(" ", args) + " " + url + ":\n" + r.out() + r.err());
        return r.out();
    }

    /** A -raw profile: its samples as (count, function names leaf first). */
    record Raw(List<Map.Entry<Long, List<String>>> samples) {
        static Raw parse(String text) {
            Map<String, String> names = new HashMap<>();
            Matcher loc = Pattern.compile("(?m)^\\s+(\\d+): 0x[0-9a-f]+ (?:M=\\d+ )?(.+?) \\S*:\\d+ s=\\d+").matcher(text);
            while (loc.find()) names.put(loc.group(1), loc.group(2));
            List<Map.Entry<Long, List<String>>> out = new ArrayList<>();
            int at = text.indexOf("Samples:"), end = text.indexOf("Locations");
            for (String l : text.substring(at, end).lines().toList()) {
                // "  COUNT: IDS", or with a second sample type "  COUNT NANOS: IDS"
                Matcher m = Pattern.compile("^\\s+(\\d+)(?:\\s+\\d+)?: ([\\d ]+)$").matcher(l);
                if (!m.find()) continue;
                List<String> fns = Stream.of(m.group(2).trim().split(" ")).map(id -> names.getOrDefault(id, "?" + id)).toList();
                out.add(Map.entry(Long.parseLong(m.group(1)), fns));
            }
            return new Raw(out);
        }

        long total() {
            return samples.stream().mapToLong(Map.Entry::getKey).sum();
        }

        long with(List<String> path) {
            return samples.stream().filter(s -> String.join(";", s.getValue()).startsWith(String.join(";", path)))
                    .mapToLong(Map.Entry::getKey).sum();
        }
    }

    @Test
    void cpuProfile() {
        String out = pprof(serve.url + "/debug/pprof/profile?pid=" + burn.pid() + "&seconds=2", "-raw");
        Raw raw = Raw.parse(out);
        assertTrue(raw.total() > 20, out);
        long a = raw.with(List.of("burn_a", "work", "main")), b = raw.with(List.of("burn_b", "work", "main"));
        // burn_a runs 3× burn_b's iterations: most samples are there, and nearly all are in one of the two
        assertTrue(a > b && b > 0, "burn_a " + a + ", burn_b " + b + "\n" + out);
        assertTrue(a + b >= raw.total() * 0.9, out);
        assertTrue(out.contains("Comment: target: pid " + burn.pid() + " (top_burn)"), out);
        // a CPU profile as Go writes one: samples and CPU time, the period one sample's share at 99 Hz
        assertTrue(out.contains("PeriodType: cpu nanoseconds\nPeriod: 10101010\n"), out);
        Matcher first = Pattern.compile("(?m)^samples/count cpu/nanoseconds\n\\s+(\\d+)\\s+(\\d+): ").matcher(out);
        assertTrue(first.find(), out);
        assertEquals(Long.parseLong(first.group(1)) * 10101010L, Long.parseLong(first.group(2)), out);
        // the profile carries its function names: nothing to symbolize
        String none = pprof(serve.url + "/debug/pprof/profile?pid=" + burn.pid() + "&seconds=1", "-symbolize=none", "-raw");
        assertTrue(Raw.parse(none).with(List.of("burn_a", "work", "main")) > 0, none);
    }

    @Test
    void callersProfile() {
        String out = pprof(serve.url + "/debug/pprof/callers?pid=" + burn.pid() + "&symbol=burn_b&seconds=20&count=25",
                "-symbolize=none", "-raw");
        Raw raw = Raw.parse(out);
        assertEquals(25, raw.total(), out);
        assertEquals(25, raw.with(List.of("burn_b", "work", "main")), out);
        assertTrue(out.contains("Comment: symbol: burn_b"), out);
    }

    /** A Ruby program's callers of crypt_ra: the Ruby methods on the way, in their known 1 : 2 : 3 split. */
    @Test
    void rubyCallersProfile() {
        try (Target rb = Target.start("ruby", Path.of("src/test/ruby/bcrypt_paths.rb").toAbsolutePath().toString())) {
            int pid = Integer.parseInt(rb.awaitLine("ready").split(" ")[1]);
            String out = pprof(serve.url + "/debug/pprof/callers?pid=" + pid + "&symbol=crypt_ra&seconds=30&count=120", "-raw");
            Raw raw = Raw.parse(out);
            assertEquals(120, raw.total(), out);
            long signup = count(raw, "signup"), login = count(raw, "login"), rehash = count(raw, "rehash");
            assertEquals(120, signup + login + rehash, out);
            assertTrue(signup > 0 && signup < login && login < rehash, signup + " " + login + " " + rehash + "\n" + out);
        }
    }

    /**
     * A Ruby CPU profile ({@code &lang=ruby}): the Ruby methods of the thread on CPU, top_split.rb's
     * burn_a and burn_b in its 3 : 1, every sample under {@code <main>}; the target untraced after.
     */
    @Test
    void rubyCpuProfile() {
        try (Target rb = Target.start("ruby", Path.of("src/test/ruby/top_split.rb").toAbsolutePath().toString())) {
            int pid = Integer.parseInt(rb.awaitLine("ready").split(" ")[1]);
            String out = pprof(serve.url + "/debug/pprof/profile?pid=" + pid + "&seconds=4&lang=ruby", "-raw");
            Raw raw = Raw.parse(out);
            long a = count(raw, "burn_a"), b = count(raw, "burn_b");
            assertTrue(raw.total() >= 30, out); // 99 Hz of the CPU time the script gets on a loaded machine
            assertTrue(a > 2 * b && b > 0 && a + b >= raw.total() * 0.9, "burn_a " + a + ", burn_b " + b + "\n" + out);
            assertEquals(raw.total(), count(raw, "<main>"), "every sample is under <main>:\n" + out);
            assertTrue(out.contains("Comment: language: ruby") && out.contains("PeriodType: cpu nanoseconds"), out);
            assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced after the capture");
            assertTrue(rb.alive());
        }
    }

    private static long count(Raw raw, String fn) {
        return raw.samples().stream().filter(s -> s.getValue().stream().anyMatch(n -> n.equals(fn)))
                .mapToLong(Map.Entry::getKey).sum();
    }
}
