package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * errno names and descriptions as glibc knows them: strerrorname_np(3) ("ENOTTY") and
 * strerrordesc_np(3) ("Inappropriate ioctl for device"), glibc 2.32+, locale-independent and
 * thread-safe (static strings).
 */
public final class Strerror {
    private Strerror() {}

    private static final MethodHandle NAME = Libc.plain("strerrorname_np",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle DESC = Libc.plain("strerrordesc_np",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** "ENOTTY", or null for an unknown number. */
    public static String name(int errno) {
        return call(NAME, errno);
    }

    /** "Inappropriate ioctl for device", or null for an unknown number. */
    public static String description(int errno) {
        return call(DESC, errno);
    }

    private static String call(MethodHandle h, int errno) {
        try {
            MemorySegment s = (MemorySegment) h.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
