package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import io.tansa.profile.Stack;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The accounting of a capture's hits (issue 16, item 6): one number per cause in the summary
 * line and as numbers in the JSON's "accounting" object, kept through shaping and recordings.
 */
@Tag("fast")
class AccountingTest {
    static Profile profile() {
        Profile p = new Profile();
        p.meta("symbol", "hot");
        p.meta("stopped", "duration reached");
        p.record(new Stack(1, 1, "t", 0, -1, List.of(Frame.nativeFrame("hot", "bin", 0x1000))));
        p.account("captured", 1);
        p.account("after_end", 12);
        p.account("rate_capped", 3400);
        p.account("lost", 0);
        p.account("truncated", 2);
        p.account("kernel_hits", 3413);
        p.account("armed_share", 0.31);
        return p;
    }

    @Test
    void theSummaryLineNamesEachCauseWithItsOwnNumber() {
        assertEquals("1 captured; 12 after the duration (not lost); 3400 held back by the rate cap; 0 lost to full buffers;"
                + " 2 stacks ended early ([unknown]); 3413 hits counted by the kernel; probe armed 31% of the time",
                TextRenderer.accounting(profile()));
        Profile none = new Profile();
        assertEquals("", TextRenderer.accounting(none), "no accounting (an older recording): nothing said");
    }

    @Test
    void jsonHasTheAccountingAsNumbers() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new JsonRenderer().render(profile(), out);
        String j = out.toString(StandardCharsets.UTF_8);
        assertTrue(j.contains("\"accounting\": {\"captured\": 1, \"after_end\": 12, \"rate_capped\": 3400, \"lost\": 0,"
                + " \"truncated\": 2, \"kernel_hits\": 3413, \"armed_share\": 0.31}"), j);
        assertTrue(!j.contains("\"accounting.captured\""), "not also as string fields: " + j);
    }

    @Test
    void shapingAndRecordingsKeepIt() throws IOException {
        Profile shaped = new Shape(Shape.Group.NONE, null, null, 1, 0).apply(profile());
        assertEquals(profile().accounting(), shaped.accounting());
        ByteArrayOutputStream rec = new ByteArrayOutputStream();
        new Recording().render(profile(), rec);
        Profile back = Recording.read(new ByteArrayInputStream(rec.toByteArray()), "test.tansa");
        assertEquals(profile().accounting(), back.accounting());
    }
}
