package io.tansa.report;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Protocol-buffers wire encoding, the few pieces profile.proto needs: varint fields (wire type 0),
 * length-delimited fields (type 2: strings, nested messages, packed repeated varints).
 * See https://protobuf.dev/programming-guides/encoding/.
 */
final class Proto {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
        tag(field, 0);
        raw(value);
        return this;
    }

    /** A varint field left out when zero (proto3 default values are not written). */
    Proto optional(int field, long value) {
        return value == 0 ? this : varint(field, value);
    }

    Proto bytes(int field, byte[] value) {
        tag(field, 2);
        raw(value.length);
        buf.writeBytes(value);
        return this;
    }

    Proto string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto m) {
        return bytes(field, m.toByteArray());
    }

    /** A packed repeated varint field. */
    Proto packed(int field, long[] values) {
        Proto p = new Proto();
        for (long v : values) p.raw(v);
        return bytes(field, p.toByteArray());
    }

    byte[] toByteArray() {
        return buf.toByteArray();
    }

    private void tag(int field, int wireType) {
        raw(((long) field << 3) | wireType);
    }

    private void raw(long v) {
        while ((v & ~0x7FL) != 0) {
            buf.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        buf.write((int) v);
    }
}
