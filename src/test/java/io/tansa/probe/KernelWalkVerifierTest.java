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
}
