package io.tansa.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The test tiers hold: every test class carries a class-level tier tag ({@code fast},
 * {@code privileged}, {@code oracle}; README "Tests"), a {@code fast} class is not also tagged
 * otherwise at class level, and it runs none of the oracle tools (a fast method that needs root
 * is tagged {@code privileged} itself, so the fast tier leaves it out).
 */
@Tag("fast")
class TiersTest {
    private static final Path TESTS = Path.of("src/test/java");
    private static final Set<String> TIERS = Set.of("fast", "privileged", "oracle");
    /** Command names the oracle tests run (as the first element of a command line). */
    private static final Pattern ORACLE = Pattern.compile(
            "\"(gdb|strace|ss|lsof|ip|readelf|addr2line|perf|nm|objdump|bpftrace|pahole|go|chromium|prometheus|promtool)\"");
    private static final Pattern CLASS_TAGS = Pattern.compile("((?:@Tag\\(\"[a-z]+\"\\)\\s*)*)(?:public |final |abstract )*class (\\w+)");

    @Test
    void everyTestClassHasATier() throws IOException {
        List<Path> classes;
        try (Stream<Path> s = Files.walk(TESTS)) {
            classes = s.filter(p -> p.getFileName().toString().endsWith("Test.java")).sorted().toList();
        }
        assertTrue(classes.size() > 40, "found " + classes.size() + " test classes under " + TESTS.toAbsolutePath());
        List<String> wrong = new ArrayList<>();
        for (Path p : classes) {
            String src = Files.readString(p);
            String name = p.getFileName().toString().replace(".java", "");
            Set<String> tags = classTags(src, name);
            if (tags.isEmpty() || !TIERS.containsAll(tags)) wrong.add(name + ": class tags " + tags);
            if (tags.contains("fast") && tags.size() > 1) wrong.add(name + ": fast and " + tags);
            Matcher m = ORACLE.matcher(src);
            if (tags.contains("fast") && m.find()) wrong.add(name + ": fast but runs " + m.group(1));
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void classTagsAreReadFromTheDeclaration() {
        assertEquals(Set.of("privileged", "oracle"),
                classTags("/** x */\n@Tag(\"privileged\")\n@Tag(\"oracle\")\nclass FooTest {\n @Tag(\"fast\") void m() {}\n}", "FooTest"));
        assertFalse(classTags("class FooTest {}", "FooTest").contains("fast"));
    }

    static Set<String> classTags(String src, String name) {
        Matcher m = CLASS_TAGS.matcher(src);
        while (m.find()) {
            if (!m.group(2).equals(name)) continue;
            Set<String> tags = new TreeSet<>();
            Matcher t = Pattern.compile("@Tag\\(\"([a-z]+)\"\\)").matcher(m.group(1));
            while (t.find()) tags.add(t.group(1));
            return tags;
        }
        return Set.of();
    }
}
