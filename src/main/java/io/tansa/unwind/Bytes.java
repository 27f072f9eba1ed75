package io.tansa.unwind;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian reads from byte arrays. */
final class Bytes {
    private Bytes() {}

    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    static long le64(byte[] b, int off) {
        return (long) LE64.get(b, off);
    }

    static int le32(byte[] b, int off) {
        return (int) LE32.get(b, off);
    }
}
