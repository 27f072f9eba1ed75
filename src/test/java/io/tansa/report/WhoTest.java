package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.tansa.profile.Frame;
import io.tansa.profile.Identity;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Pids both ways as text and JSON, and through a recording. */
@Tag("fast")
class WhoTest {
    static final String ID = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
    static final Identity IN = new Identity(5552, 1, 1, "/system.slice/docker-" + ID + ".scope",
            new Identity.Container("docker", ID));

    @Test
    void text() {
        assertEquals("5552 (1 in its container)", Who.pid(IN));
        assertEquals("42", Who.pid(Identity.plain(42)));
        assertEquals("pid 5552 (1 in its container), container docker 3f2a1b0c9d8e, cgroup /system.slice/docker-"
                + ID + ".scope", Who.line(IN));
        assertNull(Who.line(Identity.plain(42)));
        assertEquals("5553 (2 in its container)", Who.tid(5553, 2));
    }

    @Test
    void json() {
        assertEquals("{\"pid\": 5552, \"ns_pid\": 1, \"cgroup\": \"/system.slice/docker-" + ID
                + ".scope\", \"container\": {\"runtime\": \"docker\", \"id\": \"" + ID + "\"}}", JsonValue.of(Who.target(IN)));
        assertEquals("{\"pid\": 42}", JsonValue.of(Who.target(Identity.plain(42))));
    }

    @Test
    void recordingKeepsTheTargets() throws Exception {
        Profile p = new Profile();
        p.record(new Stack(5552, 5552, "svc", 1, 0, List.of(Frame.nativeFrame("f", "svc", 0x1000))));
        p.targets(List.of(IN, Identity.plain(7)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new Recording().render(p, out);
        Profile back = Recording.read(new ByteArrayInputStream(out.toByteArray()), "mem");
        assertEquals(List.of(IN, Identity.plain(7)), back.targets());
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        new TextRenderer().render(back, text);
        assertEquals("1 hits\npid 5552 (1 in its container), container docker 3f2a1b0c9d8e, cgroup /system.slice/docker-"
                + ID + ".scope\n", text.toString().lines().limit(2).map(l -> l + "\n").reduce("", String::concat));
    }
}
