package io.tansa.report;

import io.tansa.profile.TopTable;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * The table as perf top prints it: Overhead (or Children and Self with call chains), Command
 * (system-wide), Shared Object, Symbol marked {@code [.]} for user space and {@code [k]} for the
 * kernel; then the suggested next command.
 */
public final class TopTableText {
    private TopTableText() {}

    /**
     * One refresh of a table that updates while sampling runs: on a terminal ({@code clear}) the
     * screen is cleared first so the table redraws in place; elsewhere a blank line separates it
     * from the previous one.
     */
    public static void refresh(TopTable t, PrintStream out, int maxRows, boolean clear) {
        if (clear) out.print("\033[H\033[2J"); // cursor home, clear screen
        else out.println();
        render(t, out, maxRows);
    }

    /** Prints the header, at most {@code maxRows} rows (0 = all), and the next-command hint. */
    public static void render(TopTable t, PrintStream out, int maxRows) {
        TopTable.Header h = t.header();
        List<TopTable.Row> rows = t.rows();
        if (maxRows > 0 && rows.size() > maxRows) rows = rows.subList(0, maxRows);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Samples: %d of event '%s', %d Hz, %s", t.samples(), h.event(),
                h.frequency(), h.target()));
        if (h.lost() > 0) b.append(", lost: ").append(h.lost());
        if (h.stopped() != null) b.append(" (").append(h.stopped()).append(')');
        b.append('\n');
        b.append(Who.lines(t.targets()));
        if (t.rubyTable()) {
            ruby(t, rows, b);
            out.print(b);
            out.flush();
            return;
        }
        int objW = "Shared Object".length();
        String group = t.groupColumn();
        int cmdW = group.length();
        for (TopTable.Row r : rows) {
            objW = Math.max(objW, r.object().length());
            if (r.command() != null) cmdW = Math.max(cmdW, group(t, r).length());
        }
        objW = Math.min(objW, 40);
        cmdW = Math.min(cmdW, group.equals(TopTable.COMMAND) ? 16 : 40);
        b.append(t.callchains() ? "Children      Self  " : "Overhead  ");
        if (t.byCommand()) b.append(pad(group, cmdW)).append("  ");
        b.append(pad("Shared Object", objW)).append("  Symbol\n");
        for (TopTable.Row r : rows) {
            if (t.callchains()) {
                b.append(String.format(Locale.ROOT, "%7.2f%%  %7.2f%%  ", t.percent(r.children()), t.percent(r.self())));
            } else {
                b.append(String.format(Locale.ROOT, "%7.2f%%  ", t.percent(r.self())));
            }
            if (t.byCommand()) b.append(pad(group(t, r), cmdW)).append("  ");
            b.append(pad(r.object(), objW)).append("  ").append(r.kernel() ? "[k] " : "[.] ").append(r.symbol())
                    .append('\n');
        }
        String next = t.nextCommand();
        if (next != null) b.append("\nWho calls the hottest function: ").append(next).append('\n');
        out.print(b);
        out.flush();
    }

    /** The group column's value: the command or container; "TID:name" per thread, "PID:name" per process (as perf's --sort tid, pid). */
    private static String group(TopTable t, TopTable.Row r) {
        return switch (t.groupColumn()) {
            case TopTable.THREAD -> r.tid() + ":" + r.command();
            case TopTable.PROCESS -> r.pid() + ":" + r.command();
            default -> r.command();
        };
    }

    /** Ruby methods: Self, Total, Method, File:Line (native rows: [.] function, object). */
    private static void ruby(TopTable t, List<TopTable.Row> rows, StringBuilder b) {
        int nameW = "Method".length();
        for (TopTable.Row r : rows) nameW = Math.max(nameW, method(r).length());
        nameW = Math.min(nameW, 48);
        b.append("    Self     Total  ").append(pad("Method", nameW)).append("  File:Line\n");
        for (TopTable.Row r : rows) {
            b.append(String.format(Locale.ROOT, "%7.2f%%  %7.2f%%  ", t.percent(r.self()), t.percent(r.children())))
                    .append(pad(method(r), nameW)).append("  ")
                    .append(r.ruby() ? r.object() + ":" + r.line() : r.object()).append('\n');
        }
    }

    private static String method(TopTable.Row r) {
        return r.ruby() ? r.symbol() : (r.kernel() ? "[k] " : "[.] ") + r.symbol();
    }

    private static String pad(String s, int w) {
        if (s == null) s = "";
        if (s.length() > w) return s.substring(0, w);
        return s + " ".repeat(w - s.length());
    }
}
