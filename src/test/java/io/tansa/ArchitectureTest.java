package io.tansa;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The layers of ARCHITECTURE.md, held true against the compiled classes of src/main: each
 * package uses only the packages its row names, no package cycles, no FFM outside {@code sys},
 * renderers never reach a process, commands never reach the kernel interface.
 */
@Tag("fast")
class ArchitectureTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("io.tansa");

    /** package → the io.tansa packages it may use (ARCHITECTURE.md's table; the root holds Failure). */
    static final Map<String, List<String>> MAY_USE = new LinkedHashMap<>();
    static {
        MAY_USE.put("sys", List.of());
        MAY_USE.put("proc", List.of("sys", "profile"));
        MAY_USE.put("elf", List.of());
        MAY_USE.put("profile", List.of());
        MAY_USE.put("unwind", List.of("elf", "sys"));
        MAY_USE.put("symbols", List.of("elf", "proc", "sys", "profile", "unwind"));
        MAY_USE.put("ruby", List.of("elf", "sys", "proc", "symbols", "profile"));
        MAY_USE.put("probe", List.of("sys", "proc", "elf", "symbols", "unwind", "ruby"));
        MAY_USE.put("capture", List.of("sys", "proc", "elf", "symbols", "unwind", "ruby", "probe", "profile"));
        MAY_USE.put("top", List.of("sys", "proc", "elf", "symbols", "unwind", "ruby", "probe", "capture", "profile"));
        MAY_USE.put("trace", List.of("sys", "proc", "probe"));
        MAY_USE.put("net", List.of("sys", "proc"));
        MAY_USE.put("kvm", List.of("sys", "proc"));
        MAY_USE.put("report", List.of("profile", "net", "trace", "kvm"));
        MAY_USE.put("demo", List.of("sys", "proc"));
        // sys: SysException, and PerfRecord until top.Top hands out its stacks (ARCHITECTURE.md)
        MAY_USE.put("serve", List.of("sys", "proc", "net", "symbols", "unwind", "probe", "capture", "top", "profile",
                "report"));
        MAY_USE.put("cli", List.of("sys" /* SysException only: see below */, "proc", "elf", "symbols", "profile", "probe", "capture", "top", "trace", "net",
                "report", "demo", "ruby", "serve", "kvm"));
    }

    @Test
    void everyPackageUsesOnlyWhatItsRowAllows() {
        for (var e : MAY_USE.entrySet()) {
            List<String> allowed = new ArrayList<>();
            allowed.add("io.tansa");
            allowed.add("io.tansa." + e.getKey() + "..");
            for (String p : e.getValue()) allowed.add("io.tansa." + p + "..");
            classes().that().resideInAPackage("io.tansa." + e.getKey() + "..")
                    .should().onlyDependOnClassesThat(
                            com.tngtech.archunit.base.DescribedPredicate.describe("in io.tansa." + allowed,
                                    (JavaClass c) -> !c.getPackageName().startsWith("io.tansa")
                                            || allowed.stream().anyMatch(a -> a.endsWith("..")
                                                    ? c.getPackageName().equals(a.substring(0, a.length() - 2))
                                                    || c.getPackageName().startsWith(a.substring(0, a.length() - 1))
                                                    : c.getPackageName().equals(a))))
                    .allowEmptyShould(true)
                    .because("ARCHITECTURE.md: " + e.getKey() + " may use " + e.getValue())
                    .check(MAIN);
        }
    }

    @Test
    void everyPackageHasARow() {
        var unknown = MAIN.stream().map(JavaClass::getPackageName)
                .filter(p -> p.startsWith("io.tansa."))
                .map(p -> p.substring("io.tansa.".length()).split("\\.")[0])
                .filter(p -> !MAY_USE.containsKey(p)).collect(Collectors.toCollection(java.util.TreeSet::new));
        assertEquals(new java.util.TreeSet<String>(), unknown, "packages without a row in ARCHITECTURE.md's table");
    }

    @Test
    void noPackageCycles() {
        slices().matching("io.tansa.(*)..").should().beFreeOfCycles().check(MAIN);
    }

    @Test
    void foreignFunctionsOnlyInSys() {
        noClasses().that().resideOutsideOfPackage("io.tansa.sys..")
                .should().dependOnClassesThat().resideInAPackage("java.lang.foreign..")
                .because("every downcall and struct layout lives in sys").check(MAIN);
    }

    @Test
    void renderersNeverReachAProcess() {
        noClasses().that().resideInAPackage("io.tansa.report..")
                .should().dependOnClassesThat().resideInAnyPackage("io.tansa.sys..", "io.tansa.proc..",
                        "io.tansa.probe..", "io.tansa.symbols..", "io.tansa.capture..", "io.tansa.unwind..")
                .check(MAIN);
    }

    @Test
    void commandsNeverReachTheKernelInterface() {
        // SysException is how a kernel refusal reaches Main's one place for messages and exit codes
        noClasses().that().resideInAPackage("io.tansa.cli..")
                .should().dependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "in io.tansa.sys (other than SysException)",
                        (JavaClass c) -> c.getPackageName().equals("io.tansa.sys")
                                && !c.getName().startsWith("io.tansa.sys.SysException")))
                .check(MAIN);
    }

    @Test
    void noClassNameIsUsedTwice() {
        Map<String, List<String>> byName = new TreeMap<>();
        for (JavaClass c : MAIN) {
            if (c.isTopLevelClass()) byName.computeIfAbsent(c.getSimpleName(), n -> new ArrayList<>()).add(c.getName());
        }
        byName.values().removeIf(v -> v.size() < 2);
        assertEquals(Map.of(), byName, "top-level class names used in more than one package");
    }
}
