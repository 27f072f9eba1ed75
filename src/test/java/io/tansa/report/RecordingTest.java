package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.cli.Formats;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("fast")
class RecordingTest {
    @TempDir Path dir;

    static byte[] bytes(String format, Profile p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Formats.renderer(format).render(p, out);
        return out.toByteArray();
    }

    /** Every format renders a read-back recording byte for byte as it rendered the live profile. */
    public static void assertSameOutput(Profile live, Profile replayed) throws IOException {
        for (String f : Formats.names()) {
            if (f.equals("recording")) continue;
            assertArrayEquals(bytes(f, live), bytes(f, replayed), "format " + f);
        }
    }

    @Test
    void recordingRendersExactlyAsTheLiveProfile() throws IOException {
        Profile live = Fixtures.seed();
        Path file = dir.resolve("capture.tansa");
        Recording.write(live, file);
        Profile back = Recording.read(file);
        assertSameOutput(live, back);
        assertEquals(live.stacks(), back.stacks());
        assertEquals(live.locations(), back.locations());
        assertEquals(live.meta(), back.meta());
    }

    @Test
    void recordingIsVersionedGzippedJsonLines() throws IOException {
        Path file = dir.resolve("capture.tansa");
        Recording.write(Fixtures.seed(), file);
        String[] lines;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
        }
        // Header, then each stack preceded by the definitions of its new frames: A, B, C bring 10 + 1 + 4 new frames.
        assertEquals(1 + 100 + 3, lines.length);
        assertTrue(lines[0].startsWith("{\"format\": \"tansa-recording\", \"version\": 1, \"hits\": 100, \"stacks\": true, "
                + "\"meta\": {\"symbol\": \"crypt_ra\", \"stopped\": \"count reached\"}, \"locations\": [{\"name\": \"crypt_ra\""), lines[0]);
        assertTrue(lines[1].startsWith("{\"define\": [{\"kind\": \"native\", \"name\": \"crypt_ra\", \"module\": \"libcrypt.so.1\", "
                + "\"address\": \"0x7f3a1c204a10\"}, "), lines[1]);
        assertTrue(lines[1].contains("{\"kind\": \"ruby\", \"name\": \"hash_secret\", \"file\": \"/usr/lib/ruby/vendor_ruby/bcrypt/engine.rb\", \"line\": 51}"));
        assertEquals("{\"pid\": 100, \"tid\": 100, \"thread\": \"unicorn worker[0]\", \"time\": 1001000000, \"location\": 0, "
                + "\"stack\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}", lines[2]);
    }

    @Test
    void profileWithoutRawStacksRecordsItsPaths() throws IOException {
        Profile live = new Profile();
        live.keepStacks(false);
        live.meta("symbol", "crypt_ra");
        live.addLocation("crypt_ra", "libcrypt.so.1", 0x4a10);
        for (Stack s : Fixtures.seed().stacks()) live.record(s);
        Path file = dir.resolve("paths.tansa");
        Recording.write(live, file);
        Profile back = Recording.read(file);
        assertSameOutput(live, back);
        assertEquals(100, back.locations().get(0).hits());
    }

    @Test
    void newerVersionTruncationAndForeignFilesAreUsageErrors() throws IOException {
        Path newer = dir.resolve("newer.tansa");
        try (var out = new GZIPOutputStream(Files.newOutputStream(newer))) {
            out.write("{\"format\": \"tansa-recording\", \"version\": 2, \"hits\": 0, \"meta\": {}, \"locations\": []}\n".getBytes(StandardCharsets.UTF_8));
        }
        Failure f = assertThrows(Failure.class, () -> Recording.read(newer));
        assertEquals(Failure.Kind.USAGE, f.kind());
        assertTrue(f.getMessage().contains("version 2 recording; this tansa reads up to version 1"), f.getMessage());

        Path full = dir.resolve("full.tansa");
        Recording.write(Fixtures.seed(), full);
        String text;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(full))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Path cut = dir.resolve("cut.tansa");
        Files.writeString(cut, text.substring(0, text.indexOf('\n', text.length() / 2) + 1));
        f = assertThrows(Failure.class, () -> Recording.read(cut));
        assertTrue(f.getMessage().contains("truncated: header says 100 hits"), f.getMessage());

        Path json = dir.resolve("out.json");
        Files.write(json, bytes("json", Fixtures.seed()));
        f = assertThrows(Failure.class, () -> Recording.read(json));
        assertTrue(f.getMessage().endsWith("is not a tansa recording (write one with -o FILE.tansa)"), f.getMessage());

        f = assertThrows(Failure.class, () -> Recording.read(dir.resolve("missing.tansa")));
        assertEquals(Failure.Kind.USAGE, f.kind());
    }
}
