package io.tansa.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Real Ruby interpreters from Debian's archive for the per-series tests: a debootstrap root per
 * series (src/test/scripts/ruby-root.sh) and Debian's configured source tree of that release
 * (src/test/scripts/ruby-src.sh), and a static Ruby built from that source (src/test/scripts/ruby-build.sh),
 * all built once and cached under /var/cache/tansa-test by what
 * they hold, so a fresh machine (CI) recreates them and a second run reuses them. When a cache
 * cannot be built (no root, no debootstrap, no network) the calling test skips — and fails under
 * TANSA_REQUIRE_PRIVILEGED=1, as {@link Privileged} does.
 */
public final class RubyRoots {
    private RubyRoots() {}

    /** A Ruby series as a Debian release ships it: root packages, source package and release. */
    public enum Series {
        RUBY_2_7("2.7", "bullseye", "ruby2.7", "bullseye", "ruby2.7", "gdb", "ruby2.7", "ruby-bcrypt"),
        RUBY_3_3("3.3", "trixie", "ruby3.3", "trixie", "ruby3.3", "gdb", "ruby3.3", "ruby-bcrypt", "unicorn"),
        // Debian ships 3.4 in experimental only; its ruby-bcrypt is built for 3.3 (so 3.4 workloads use String#crypt)
        RUBY_3_4("3.4", "sid", "ruby3.4", "experimental", "ruby3.4", "gdb", "ruby3.4/experimental");

        /** An earlier source version still in the pool, for when the index names one the pool lacks. */
        public String srcFallback() {
            return this == RUBY_3_4 ? "3.4.5-1~exp1" : "";
        }

        public final String series, release, srcPackage, srcRelease, executable;
        final List<String> packages;

        Series(String series, String release, String srcPackage, String srcRelease, String executable, String... packages) {
            this.series = series;
            this.release = release;
            this.srcPackage = srcPackage;
            this.srcRelease = srcRelease;
            this.executable = executable;
            this.packages = List.of(packages);
        }
    }

    static final Path SCRIPTS = Path.of("src/test/scripts").toAbsolutePath();
    private static final Map<String, Path> built = new ConcurrentHashMap<>();

    /** The series' Debian root (built on first use, minutes; cached), or a skip/failure. */
    public static Path root(Series s) {
        List<String> cmd = new ArrayList<>(List.of(SCRIPTS.resolve("ruby-root.sh").toString(), s.release));
        cmd.addAll(s.packages);
        return cached(cmd);
    }

    /** Debian's configured Ruby source tree of the series (cached), or a skip/failure. */
    public static Path source(Series s) {
        return cached(List.of(SCRIPTS.resolve("ruby-src.sh").toString(), s.srcPackage, s.srcRelease, s.srcFallback()));
    }

    /**
     * A Ruby built from the series' Debian source the way ruby-build/rbenv builds it
     * (src/test/scripts/ruby-build.sh): {@code ./configure --disable-shared} by default, i.e. the VM
     * linked into a static {@code ruby} executable with full DWARF and YJIT (rustc on the PATH). Its
     * install prefix (bin/ruby), built on first use (about 10 minutes on 2 cores) and cached by
     * version and options; a skip, or a failure under TANSA_REQUIRE_PRIVILEGED=1, when it cannot be built.
     */
    public static Path sourceBuild(Series s, String... configureOptions) {
        List<String> cmd = new ArrayList<>(List.of(SCRIPTS.resolve("ruby-build.sh").toString(), s.srcPackage, s.srcRelease));
        cmd.addAll(List.of(configureOptions));
        return cached(cmd);
    }

    private static Path cached(List<String> cmd) {
        Privileged.requireRoot();
        String key = String.join(" ", cmd);
        Path p = built.get(key);
        if (p != null) return p;
        String out = "", err;
        int code;
        try {
            // a build is minutes (debootstrap, apt-get source, configure); its log is in the cache's logs/
            Path errFile = Files.createTempFile("tansa-cache", ".err");
            Process pr = new ProcessBuilder(cmd).redirectError(errFile.toFile()).start();
            out = new String(pr.getInputStream().readAllBytes()).strip();
            if (!pr.waitFor(60, java.util.concurrent.TimeUnit.MINUTES)) pr.destroyForcibly();
            code = pr.isAlive() ? -1 : pr.exitValue();
            err = Files.readString(errFile).strip();
            Files.deleteIfExists(errFile);
        } catch (java.io.IOException | InterruptedException e) {
            code = -1;
            err = e.toString();
        }
        Privileged.assume(code == 0 && !out.isEmpty() && Files.isDirectory(Path.of(out)),
                "cannot build the test cache (" + key + "): " + err);
        p = Path.of(out);
        built.put(key, p);
        return p;
    }

    /**
     * The command running {@code args} (e.g. {@code ruby app.rb}) inside {@code root}, as in a
     * container: chroot'ed, same pid seen from outside (no pid namespace, so the tests and tansa
     * address it by the pid they see). Files the target needs go under root (see {@link #copyIn}).
     */
    public static List<String> inRoot(Path root, String... args) {
        List<String> cmd = new ArrayList<>(List.of("chroot", root.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Copies {@code file} into {@code root}/tmp/tansa-test/ and returns its path as seen inside the root. */
    public static String copyIn(Path root, Path file) {
        try {
            Path dir = root.resolve("tmp/tansa-test");
            Files.createDirectories(dir);
            Files.copy(file, dir.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return "/tmp/tansa-test/" + file.getFileName();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
