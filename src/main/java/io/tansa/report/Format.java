package io.tansa.report;

import io.tansa.Failure;
import java.util.Locale;

/**
 * The {@code -f} of the commands whose output is a table or a document rather than a profile
 * ({@code fds}, {@code sockets}, {@code trace}, {@code top}, {@code diff}): text or json, one
 * renderer class per format (FdsText/FdsJson, SocketsText/SocketsJson, TraceSummaryText/
 * TraceSummaryJson and TraceLines, TopTableText/TopTableJson, DiffRenderer). Profile commands
 * choose among the profile renderers instead (cli.Formats).
 */
public enum Format {
    TEXT, JSON;

    /** The name {@code -f} takes: "text", "json". */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The format {@code -f name} asks for. A bad name is a usage failure worded as each command
     * has always worded it: {@code command} given, "fds formats: text, json (not 'yaml')"; null,
     * "unknown format 'yaml' (text, json)".
     */
    public static Format parse(String name, String command) {
        for (Format f : values()) if (f.id().equals(name)) return f;
        throw new Failure(Failure.Kind.USAGE, command != null
                ? command + " formats: text, json (not '" + name + "')"
                : "unknown format '" + name + "' (text, json)");
    }
}
