package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.cli.Formats;
import io.tansa.profile.Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Text-shaped formats checked line by line against the fixture's known counts. */
@Tag("fast")
class FormatsTest {
    static String render(String format, Profile p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Formats.renderer(format).render(p, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void foldedIsRootFirstAndSumsToHits() throws IOException {
        Profile p = Fixtures.seed();
        String folded = render("folded", p);
        long sum = 0;
        for (String line : folded.split("\n")) {
            int sp = line.lastIndexOf(' ');
            sum += Long.parseLong(line.substring(sp + 1));
            String[] frames = line.substring(0, sp).split(";");
            assertTrue(frames[frames.length - 1].equals("crypt_ra"), "leaf last: " + line);
        }
        assertEquals(p.total(), sum);
        assertEquals("main;vm_exec_core;<main> config.ru:1;bar app/controllers/concerns/foo.rb:32;"
                + "valid_password? app/models/concerns/devise_auth.rb:12;create /usr/lib/ruby/vendor_ruby/bcrypt/password.rb:46;"
                + "hash_secret /usr/lib/ruby/vendor_ruby/bcrypt/engine.rb:51;vm_call_cfunc_with_frame;bc_crypt;crypt_ra 60",
                folded.split("\n")[0]);
        assertTrue(folded.contains("start_thread;worker_loop;entry_SYSCALL_64_after_hwframe_[k];ksys_write_[k];crypt_ra 10\n"), folded);
    }

    @Test
    void textRanksPathsWithShares() throws IOException {
        String text = render("text", Fixtures.seed());
        assertTrue(text.startsWith("100 hits on crypt_ra (stopped: count reached)\n2 locations:\n"), text);
        assertTrue(text.contains("#1  60 hits  60.0%\n    crypt_ra                                 libcrypt.so.1\n"), text);
        assertTrue(text.contains("#2  30 hits  30.0%"), text);
        assertTrue(text.contains("    app/controllers/concerns/foo.rb:32:in `bar'\n"), text);
        assertTrue(text.contains("#3  10 hits  10.0%"), text);
    }

    @Test
    void treeGrowsFromTheProbedFunctionTowardsCallers() throws IOException {
        String tree = render("tree", Fixtures.seed());
        List<String> lines = List.of(tree.split("\n"));
        int root = lines.indexOf("100.0%  100  crypt_ra (libcrypt.so.1)");
        assertTrue(root > 0, tree);
        assertEquals("├─ 90.0%  90  bc_crypt (bcrypt_ext.so)", lines.get(root + 1));
        // The two Ruby callers of create split 60/30 further up the tree.
        assertTrue(tree.contains("├─ 60.0%  60  valid_password? (app/models/concerns/devise_auth.rb:12)"), tree);
        assertTrue(tree.contains("└─ 30.0%  30  Accounts::Signup#create (app/controllers/accounts/signup.rb:8)"), tree);
        assertTrue(tree.contains("└─ 10.0%  10  ksys_write ([kernel])"), tree);
    }

    @Test
    void topDownTreeStartsAtTheOutermostCallers() throws IOException {
        String tree = render("tree-topdown", Fixtures.seed());
        assertTrue(tree.contains("\n90.0%  90  main (ruby3.1)\n└─ 90.0%  90  vm_exec_core (libruby-3.1.so.3.1)\n"), tree);
        assertTrue(tree.contains("\n10.0%  10  start_thread (libc.so.6)\n└─ 10.0%  10  worker_loop (burn)\n"), tree);
    }

    @Test
    void jsonKeepsTheContract() throws IOException {
        Map<?, ?> j = (Map<?, ?>) Json.parse(render("json", Fixtures.seed()));
        assertEquals(100L, j.get("hits"));
        List<?> paths = (List<?>) j.get("paths");
        assertEquals(3, paths.size());
        Map<?, ?> first = (Map<?, ?>) paths.get(0);
        assertEquals(60L, first.get("count"));
        Map<?, ?> f0 = (Map<?, ?>) ((List<?>) first.get("frames")).get(0);
        assertEquals(Map.of("kind", "native", "name", "crypt_ra", "module", "libcrypt.so.1", "address", "0x7f3a1c204a10"), f0);
        Map<?, ?> ruby = (Map<?, ?>) ((List<?>) first.get("frames")).get(3);
        assertEquals(Map.of("kind", "ruby", "name", "hash_secret", "file", "/usr/lib/ruby/vendor_ruby/bcrypt/engine.rb", "line", 51L), ruby);
    }

    @Test
    void rubyFormatIsRbBacktraceOldestFirstWithCounts() throws IOException {
        String rb = render("ruby", Fixtures.seed());
        assertEquals("""
                60 hits (60.0%):
                \tfrom config.ru:1:in `<main>'
                \tfrom app/controllers/concerns/foo.rb:32:in `bar'
                \tfrom app/models/concerns/devise_auth.rb:12:in `valid_password?'
                \tfrom /usr/lib/ruby/vendor_ruby/bcrypt/password.rb:46:in `create'
                \tfrom /usr/lib/ruby/vendor_ruby/bcrypt/engine.rb:51:in `hash_secret'

                30 hits (30.0%):
                \tfrom config.ru:1:in `<main>'
                \tfrom app/controllers/accounts/signup.rb:8:in `Accounts::Signup#create'
                \tfrom /usr/lib/ruby/vendor_ruby/bcrypt/password.rb:46:in `create'
                \tfrom /usr/lib/ruby/vendor_ruby/bcrypt/engine.rb:51:in `hash_secret'

                10 hits (10.0%) without Ruby frames (use -f text to see their native paths)
                """, rb);
    }

    @Test
    void bugreportHasRubysSectionHeader() throws IOException {
        String rb = render("bugreport", Fixtures.seed());
        assertTrue(rb.startsWith("""
                60 hits (60.0%):
                -- Ruby level backtrace information ----------------------------------------
                config.ru:1:in `<main>'
                app/controllers/concerns/foo.rb:32:in `bar'
                """), rb);
        assertFalse(rb.contains("\tfrom"), rb);
    }

    @Test
    void unknownFormatIsAUsageErrorListingTheNames() {
        Failure f = org.junit.jupiter.api.Assertions.assertThrows(Failure.class, () -> Formats.renderer("flame"));
        assertEquals(Failure.Kind.USAGE, f.kind());
        assertTrue(f.getMessage().contains("text, tree, tree-topdown, folded, flamegraph, pprof, speedscope, json, ruby, bugreport"), f.getMessage());
    }

    @Test
    void tansaOutputIsARecordingUnlessAnotherFormatIsAsked() {
        assertEquals("recording", Formats.choose("text", "/tmp/x.tansa"));
        assertEquals("folded", Formats.choose("folded", "/tmp/x.txt"));
        Failure f = org.junit.jupiter.api.Assertions.assertThrows(Failure.class, () -> Formats.choose("json", "/tmp/x.tansa"));
        assertEquals(Failure.Kind.USAGE, f.kind());
    }
}
