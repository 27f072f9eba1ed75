package io.tansa.cli;

import io.tansa.profile.Profile;
import io.tansa.profile.ProfileDiff;
import io.tansa.report.DiffRenderer;
import io.tansa.report.Format;
import io.tansa.report.Recording;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare two recordings: the paths whose share of the hits changed, largest change first.",
            "Shaping options apply to both sides (e.g. --max-depth 3 compares nearest callers only)."},
        footer = {"", "Example:", "  tansa diff before.tansa after.tansa --max-depth 2 --min-delta 1"})
public final class DiffCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "BEFORE", description = "Recording before the change (.tansa).")
    Path before;

    @Parameters(index = "1", paramLabel = "AFTER", description = "Recording after the change (.tansa).")
    Path after;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "text (default) or json.")
    String format = "text";

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    String output;

    @Option(names = "--min-delta", paramLabel = "PCT", description = "Only paths whose share changed by at least PCT percentage points.")
    double minDelta;

    @Mixin ShapeOptions shape;

    @Override
    public Integer call() throws IOException {
        Format f = Format.parse(format, "diff");
        Profile b = shape.apply(Recording.read(before));
        Profile a = shape.apply(Recording.read(after));
        List<ProfileDiff.Row> rows = ProfileDiff.compare(b, a, minDelta);
        Common out = new Common();
        out.output = output;
        try (OutputStream os = out.openOutput()) {
            if (f == Format.JSON) DiffRenderer.json(rows, b.total(), a.total(), os);
            else DiffRenderer.text(rows, before.toString(), b.total(), after.toString(), a.total(), os);
        }
        return 0;
    }
}
