package io.tansa.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Kvm;
import io.tansa.trace.IoctlTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** sys.Kvm's constants against the installed &lt;linux/kvm.h&gt;. */
@Tag("fast")
class KvmConstantsTest {
    @Test
    void exitReasonsAreTheHeadersInOrder() throws Exception {
        String h = Files.readString(Path.of("/usr/include/linux/kvm.h"));
        // the KVM_EXIT_* block: KVM_EXIT_UNKNOWN 0, then consecutive values (the sub-constants
        // after it, KVM_EXIT_IO_IN 0 …, start again at 0)
        Matcher m = Pattern.compile("(?m)^#define\\s+KVM_EXIT_([A-Z0-9_]+)\\s+(\\d+)\\s*(/\\*.*\\*/)?\\s*$").matcher(h);
        int next = 0, checked = 0;
        while (m.find()) {
            int v = Integer.parseInt(m.group(2));
            if (next == 0 && !m.group(1).equals("UNKNOWN")) continue;
            if (v != next) break;
            assertEquals(m.group(1), Kvm.exitName(v), "KVM_EXIT value " + v);
            next++;
            checked++;
        }
        assertTrue(checked >= 38, "checked " + checked);
        assertEquals("reason_999", Kvm.exitName(999));
    }

    @Test
    void kvmRunIsTheTablesKvmRun() {
        assertEquals("KVM_RUN", IoctlTable.name(Kvm.KVM_RUN));
        assertEquals("KVM_CREATE_VCPU", IoctlTable.name(Kvm.KVM_CREATE_VCPU));
    }
}
