package io.tansa.cli;

import io.tansa.report.Recording;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Render a recording (written with -o FILE.tansa) in any output format.",
            "The output equals what the live command printed with the same options."},
        footer = {"", "Examples:", "  tansa report capture.tansa -f flamegraph -o flame.html",
            "  tansa report capture.tansa -f tree --max-depth 4 --group-by process"})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "A recording (.tansa).")
    Path file;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT",
            description = "text (default), tree, tree-topdown, folded, flamegraph, pprof, speedscope, json, ruby, bugreport, recording.")
    String format = "text";

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout (FILE.tansa: a recording).")
    String output;

    @Mixin ShapeOptions shape;

    @Override
    public Integer call() throws IOException {
        Common out = new Common();
        out.format = format;
        out.output = output;
        Formats.choose(format, output); // a bad -f is reported before the file is read
        Formats.output(Recording.read(file), out, shape);
        return 0;
    }
}
