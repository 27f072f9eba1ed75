package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.testing.Privileged;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Btf against independent readers of the same /sys/kernel/btf/vmlinux: pahole (offsets, as it
 * prints them in its struct layouts) and bpftrace (sizeof); and a hand-built blob for the corner
 * cases (a FWD before the struct, kind_flag bitfields, anonymous members behind a qualifier).
 */
@Tag("privileged")
@Tag("oracle")
class BtfTest {
    @Test
    void kernelOffsetsMatchPahole() throws Exception {
        Btf btf = Btf.kernel();
        Map<String, Long> task = pahole("task_struct"), thread = pahole("thread_struct"), skb = pahole("sk_buff");
        assertEquals(task.get("pid"), btf.offsetOf("task_struct", "pid"));
        assertEquals(task.get("tgid"), btf.offsetOf("task_struct", "tgid"));
        assertEquals(task.get("real_parent"), btf.offsetOf("task_struct", "real_parent"));
        assertEquals(task.get("thread") + thread.get("fsbase"), btf.offsetOf("task_struct", "thread.fsbase"));
        // inside anonymous unions/structs: pahole prints these offsets from the start of sk_buff
        assertEquals(skb.get("dev"), btf.offsetOf("sk_buff", "dev"));
        assertEquals(skb.get("_skb_refdst"), btf.offsetOf("sk_buff", "_skb_refdst"));
        assertEquals(task.get("size"), btf.sizeOf("task_struct"));
        assertEquals(thread.get("size"), btf.sizeOf("thread_struct"));
    }

    @Test
    void kernelSizesMatchBpftrace() throws Exception {
        Privileged.requireRoot();
        String out = run("bpftrace", "-e",
                "BEGIN { printf(\"sizes %d %d\\n\", sizeof(struct task_struct), sizeof(struct sk_buff)); exit(); }");
        Matcher m = Pattern.compile("sizes (\\d+) (\\d+)").matcher(out);
        assertTrue(m.find(), out);
        assertEquals(Long.parseLong(m.group(1)), Btf.kernel().sizeOf("task_struct"));
        assertEquals(Long.parseLong(m.group(2)), Btf.kernel().sizeOf("sk_buff"));
    }

    @Test
    void missingMemberAndStructAreNamed() {
        Failure f = assertThrows(Failure.class, () -> Btf.kernel().offsetOf("task_struct", "thread.no_such_field"));
        assertEquals(Failure.Kind.UNSUPPORTED, f.kind());
        assertTrue(f.getMessage().contains("task_struct") && f.getMessage().contains("thread.no_such_field"), f.getMessage());
        f = assertThrows(Failure.class, () -> Btf.kernel().offsetOf("pid.fsbase", "x"));
        assertTrue(f.getMessage().contains("pid.fsbase"), f.getMessage());
        f = assertThrows(Failure.class, () -> Btf.kernel().offsetOf("task_struct", "pid.x")); // pid_t is no struct
        assertTrue(f.getMessage().contains("pid.x"), f.getMessage());
    }

    /** Strings "\0s\0a\0b\0int\0t\0" and six types, one record after the other as btf.h lays them out. */
    @Test
    void handBuiltBlob() {
        byte[] str = "\0s\0a\0b\0int\0t\0".getBytes(StandardCharsets.US_ASCII);
        int s = 1, a = 3, b = 5, intName = 7, t = 11;
        ByteBuffer types = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        type(types, s, 7 << 24, 0);                                  // 1: FWD struct s
        type(types, intName, 1 << 24, 4).putInt(32);                 // 2: INT, 32 bits
        type(types, a, 17 << 24, 4).putInt(-1);                      // 3: DECL_TAG on struct 4
        type(types, s, 1 << 31 | 4 << 24 | 2, 8)                     // 4: STRUCT s (kind_flag), size 8
                .putInt(a).putInt(2).putInt(3 << 24 | 3)             //    a: 3-bit bitfield at bit 3
                .putInt(b).putInt(2).putInt(32);                     //    b: at bit 32
        type(types, 0, 10 << 24, 4);                                 // 5: CONST struct s
        type(types, t, 4 << 24 | 1, 16).putInt(0).putInt(5).putInt(64); // 6: STRUCT t { const struct s; } at byte 8
        types.flip();
        ByteBuffer blob = ByteBuffer.allocate(24 + types.remaining() + str.length).order(ByteOrder.nativeOrder());
        blob.putShort((short) 0xeB9F).put((byte) 1).put((byte) 0).putInt(24)
                .putInt(0).putInt(types.remaining()).putInt(types.remaining()).putInt(str.length)
                .put(types).put(str).flip();
        Btf btf = Btf.parse(blob);
        assertEquals(8, btf.sizeOf("s"));          // the STRUCT, not the FWD before it
        assertEquals(4, btf.offsetOf("s", "b"));
        assertEquals(12, btf.offsetOf("t", "b"));  // through the anonymous const member
        Failure f = assertThrows(Failure.class, () -> btf.offsetOf("s", "a"));
        assertTrue(f.getMessage().contains("bitfield"), f.getMessage());
    }

    private static ByteBuffer type(ByteBuffer out, int nameOff, int info, int sizeOrType) {
        return out.putInt(nameOff).putInt(info).putInt(sizeOrType);
    }

    /** Member offsets (first occurrence of each name) and "size" of a struct, as pahole prints them. */
    private static Map<String, Long> pahole(String struct) throws Exception {
        Privileged.assume(Files.isExecutable(Path.of("/usr/bin/pahole")), "needs pahole (apt-get install pahole)");
        String out = run("pahole", "-C", struct, Btf.VMLINUX.toString());
        Map<String, Long> offsets = new HashMap<>();
        Matcher m = Pattern.compile("(\\w+)(\\[\\d*\\])*;\\s+/\\*\\s+(\\d+)\\s+\\d+\\s+\\*/").matcher(out);
        while (m.find()) offsets.putIfAbsent(m.group(1), Long.parseLong(m.group(3)));
        Matcher size = Pattern.compile("/\\* size: (\\d+),").matcher(out);
        assertTrue(size.find(), out);
        offsets.put("size", Long.parseLong(size.group(1)));
        return offsets;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
        return out;
    }
}
