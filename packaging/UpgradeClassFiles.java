import java.io.IOException;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * Rewrites the class files of a jar that are older than Java 6 (class file version < 50) as Java 8
 * class files (52) with stack maps, in place: same bytecode, same entries, same times.
 *
 * <p>Why: the JVM's class-data sharing (the AOT cache of bin/package, the dynamic archive of
 * bin/tansa) leaves out "old" classes, which are then loaded from the jar and verified by the
 * type-inferring verifier at every start. picocli is compiled for Java 5: its ~230 classes cost
 * ~45 ms of the main thread at each run (measured with TANSA_TIMING). Rewritten, they come
 * verified and linked from the cache. The stack maps are computed by the JDK's ClassFile API
 * (java.lang.classfile, JEP 484), over the jar's own classes and the JDK's.
 *
 * <p>Usage: java packaging/UpgradeClassFiles.java JAR...   (prints how many classes it rewrote)
 */
public class UpgradeClassFiles {
    public static void main(String[] args) throws IOException {
        for (String a : args) upgrade(Path.of(a));
    }

    static void upgrade(Path jar) throws IOException {
        int rewritten = 0;
        Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null);
                JarFile in = new JarFile(jar.toFile());
                OutputStream os = Files.newOutputStream(tmp);
                JarOutputStream out = new JarOutputStream(os)) {
            ClassFile cf = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                            .orElse(ClassHierarchyResolver.ofResourceParsing(loader))));
            var entries = in.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                byte[] b;
                try (var is = in.getInputStream(e)) {
                    b = is.readAllBytes();
                }
                if (e.getName().endsWith(".class") && !e.getName().endsWith("module-info.class")) {
                    ClassModel m = cf.parse(b);
                    if (m.majorVersion() < ClassFile.JAVA_6_VERSION) {
                        // every method body rebuilt (so that its stack maps are generated), the version replaced
                        b = cf.transformClass(m, ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL)
                                .andThen((cb, el) -> {
                                    if (!(el instanceof ClassFileVersion)) cb.with(el);
                                })
                                .andThen(ClassTransform.endHandler(cb -> cb.withVersion(ClassFile.JAVA_8_VERSION, 0))));
                        rewritten++;
                    }
                }
                JarEntry o = new JarEntry(e.getName());
                o.setTime(e.getTime());
                out.putNextEntry(o);
                out.write(b);
                out.closeEntry();
            }
        }
        if (rewritten == 0) {
            Files.delete(tmp); // nothing old: the jar stays as it was
        } else {
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
        }
        System.err.println(jar.getFileName() + ": " + rewritten + " class files rewritten as Java 8 class files");
    }
}
