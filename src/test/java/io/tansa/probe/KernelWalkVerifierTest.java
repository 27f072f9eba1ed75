package io.tansa.probe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Bpf;
import io.tansa.testing.Privileged;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What this kernel's verifier does with the walker: the program tansa loads (8 frames per run,
 * then a tail call to itself: 34 runs, 272 frames ≥ {@link KernelWalk#MAX_FRAMES}) is accepted,
 * and for larger unrollings the instructions it processed, up to where it refuses. Prints the table.
 */
@Tag("privileged")
class KernelWalkVerifierTest {
    private static final Pattern PROCESSED = Pattern.compile("processed (\\d+) insns");

    @Test
    void verifierLimitsOfTheWalker() {
        Privileged.requireRoot();
        String used = KernelWalk.verifierStats(KernelWalk.FRAMES_PER_CALL);
        assertTrue(PROCESSED.matcher(used).find(), used);
        List<String> table = new ArrayList<>();
        for (int f : new int[] {1, 8, 16, 32, 64, 128}) {
            try {
                String s = KernelWalk.verifierStats(f);
                Matcher m = PROCESSED.matcher(s);
                table.add(String.format("%3d frames/run: accepted, %s", f, s.substring(0, s.indexOf(';'))
                        + (m.find() ? ", verifier processed " + m.group(1) + " insns" : "")));
            } catch (IllegalArgumentException e) { // a conditional jump's offset is s16 (struct bpf_insn off)
                table.add(String.format("%3d frames/run: not encodable: %s (BPF jump offsets are 16-bit)", f, e.getMessage()));
            } catch (Bpf.VerifierException e) {
                String log = e.log.trim();
                table.add(String.format("%3d frames/run: refused: %s", f, log.substring(Math.max(0, log.length() - 160))
                        .replace('\n', ' ')));
            }
        }
        System.out.println("kernel " + System.getProperty("os.version") + ", walker per run:\n  " + String.join("\n  ", table));
        assertTrue(table.get(1).contains("accepted"), table.toString());
    }

    private static long insn(int code, int dst, int src, int off, int imm) {
        return (code & 0xffL) | ((long) (dst & 0xf) << 8) | ((long) (src & 0xf) << 12) | ((off & 0xffffL) << 16)
                | ((imm & 0xffffffffL) << 32);
    }

    /**
     * Why the walker tail-calls instead of using bpf_loop: this kernel has bpf_loop (helper 181),
     * but its callback, loaded with BPF_PSEUDO_FUNC (src_reg 4 of a 64-bit immediate load), needs
     * BTF func_info, which tansa does not generate: without it the verifier refuses the program.
     */
    @Test
    void bpfLoopNeedsBtfFuncInfo() {
        Privileged.requireRoot();
        long[] prog = {
            insn(0xb7, 1, 0, 0, 1),        // r1 = 1 (nr_loops)
            insn(0x18, 2, 4, 0, 6),        // r2 = the callback at insn 8 (BPF_PSEUDO_FUNC, imm = 8 - (1 + 1))
            0L,
            insn(0xb7, 3, 0, 0, 0),        // r3 = 0 (callback ctx)
            insn(0xb7, 4, 0, 0, 0),        // r4 = 0 (flags)
            insn(0x85, 0, 0, 0, 181),      // call bpf_loop (BPF_FUNC_loop)
            insn(0xb7, 0, 0, 0, 0),
            insn(0x95, 0, 0, 0, 0),
            insn(0xb7, 0, 0, 0, 0),        // callback: return 0
            insn(0x95, 0, 0, 0, 0),
        };
        try {
            int fd = Bpf.progLoad(Bpf.PROG_TYPE_KPROBE, prog, "tansa_loop_t");
            io.tansa.sys.Files.close(fd);
            throw new AssertionError("bpf_loop without BTF was accepted: the walker could use it");
        } catch (Bpf.VerifierException e) {
            System.out.println("bpf_loop without BTF func_info: " + e.log.trim().replace('\n', ' '));
            assertTrue(e.log.contains("func_info"), e.log);
        }
    }
}
