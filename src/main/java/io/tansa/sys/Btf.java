package io.tansa.sys;

import io.tansa.Failure;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A reader of BTF, the kernel's compact type information (Documentation/bpf/btf.rst, layouts from
 * include/uapi/linux/btf.h), just enough to find the byte offsets of struct members in the
 * running kernel. A blob is a header, a type section (type id N is the N-th record, id 0 is void)
 * and a string section that names point into. Split BTF (modules) is not handled.
 */
public final class Btf {
    static final Path VMLINUX = Path.of("/sys/kernel/btf/vmlinux");
    private static Btf kernel;

    // enum { BTF_KIND_INT = 1, ... } (btf.h)
    private static final int INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7,
            TYPEDEF = 8, VOLATILE = 9, CONST = 10, RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14,
            DATASEC = 15, FLOAT = 16, DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19;
    private static final int BTF_MAGIC = 0xeB9F;
    // struct btf_type { __u32 name_off; __u32 info; union { __u32 size; __u32 type; }; }
    private static final int TYPE_SIZE = 12;

    private final ByteBuffer b;                                   // the blob, host byte order
    private final int strings;                                    // offset of the string section
    private final int end;                                        // end of the type section
    /**
     * type id -> offset of its btf_type, for the ids below {@link #indexed}: the type section is
     * indexed only as far as a lookup needs (task_struct is type ~100 of ~126,000 in a 6.x vmlinux,
     * its members' types below ~600), not the ~3 MB of it at every start.
     */
    private int[] types = new int[1 << 12];
    private int indexed = 1, next;                                // ids indexed so far; offset of the next type
    private int[] structIds = new int[1 << 8];                    // the named STRUCT types among them, in id order
    private int structCount;
    private final Map<String, Integer> structs = new HashMap<>(); // name -> first STRUCT of that name, as looked up

    /** A member found in a struct/union: its offset in bits from the start, and its type id. */
    private record Member(long bits, int type) {}

    /** Where the blob is read from as it is needed (null: all of it is in {@link #b} already). */
    private final java.nio.channels.FileChannel source;
    /** Which {@link #CHUNK}-byte pieces of {@link #b} were read from {@link #source}. */
    private final boolean[] read;
    private static final int CHUNK = 64 << 10;

    private Btf(ByteBuffer b, java.nio.channels.FileChannel source) {
        this.b = b;
        this.source = source;
        this.read = new boolean[source == null ? 0 : (b.capacity() + CHUNK - 1) / CHUNK];
        // struct btf_header { __u16 magic; __u8 version; __u8 flags; __u32 hdr_len;
        //                     __u32 type_off; __u32 type_len; __u32 str_off; __u32 str_len; }
        if ((i16(0) & 0xffff) != BTF_MAGIC) {
            throw new Failure(Failure.Kind.UNSUPPORTED, String.format(
                    "not BTF in the host's byte order (magic 0x%04x, want 0x%04x)", i16(0) & 0xffff, BTF_MAGIC));
        }
        int hdrLen = i32(4);
        next = hdrLen + i32(8);
        end = next + i32(12);
        strings = hdrLen + i32(16);
        if (end > b.capacity()) throw new IndexOutOfBoundsException("type section ends at " + end + " of " + b.capacity());
    }

    private int i32(int pos) {
        load(pos, 4);
        return b.getInt(pos);
    }

    private short i16(int pos) {
        load(pos, 2);
        return b.getShort(pos);
    }

    private byte i8(int pos) {
        load(pos, 1);
        return b.get(pos);
    }

    /**
     * Reads the chunks holding [pos, pos + len) from the file when they are not read yet: a
     * lookup touches the header, the first types and the strings of their names, ~0.3 MB of the
     * 5 MB of a 6.x vmlinux's BTF (reading all of it costs ~30 ms).
     */
    private void load(int pos, int len) {
        if (source == null) return;
        for (int c = pos / CHUNK; c <= (pos + len - 1) / CHUNK && c < read.length; c++) {
            if (read[c]) continue;
            int from = c * CHUNK, to = Math.min(b.capacity(), from + CHUNK);
            ByteBuffer dst = b.duplicate().position(from).limit(to);
            try {
                while (dst.hasRemaining()) {
                    if (source.read(dst, dst.position()) < 0) throw new IndexOutOfBoundsException("BTF ends at " + dst.position());
                }
            } catch (java.io.IOException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "cannot read kernel BTF " + VMLINUX + ": " + e.getMessage(), e);
            }
            read[c] = true;
        }
    }

    /** Indexes one more type; false at the end of the type section. */
    private boolean indexNext() {
        if (next >= end) return false;
        int n = indexed, p = next;
        if (n == types.length) types = Arrays.copyOf(types, 2 * n);
        types[n] = p;
        if (kindAt(p) == STRUCT && i32(p) != 0) {
            if (structCount == structIds.length) structIds = Arrays.copyOf(structIds, 2 * structCount);
            structIds[structCount++] = n;
        }
        next = p + TYPE_SIZE + trailing(n, kindAt(p), i32(p + 4) & 0xffff);
        indexed = n + 1;
        return true;
    }

    /** Offset of type {@code id}'s btf_type. */
    private int type(int id) {
        while (id >= indexed) {
            if (!indexNext()) throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF has no type " + id);
        }
        return types[id];
    }

    /** The kernel's own BTF (/sys/kernel/btf/vmlinux), parsed once. */
    public static synchronized Btf kernel() {
        if (kernel != null) return kernel;
        try {
            // kept open: the rest is read as lookups need it (sysfs serves any offset, pread(2))
            var ch = java.nio.channels.FileChannel.open(VMLINUX, java.nio.file.StandardOpenOption.READ);
            long size = ch.size();
            if (size < 24 || size > Integer.MAX_VALUE) {
                ch.close();
                throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF " + VMLINUX + " has an unexpected size: " + size);
            }
            try {
                return kernel = new Btf(ByteBuffer.allocate((int) size).order(ByteOrder.nativeOrder()), ch);
            } catch (IndexOutOfBoundsException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "truncated BTF", e);
            }
        } catch (NoSuchFileException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "no kernel BTF: " + VMLINUX
                    + " is missing (the kernel needs CONFIG_DEBUG_INFO_BTF=y, Linux 5.4+)");
        } catch (IOException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "cannot read kernel BTF " + VMLINUX + ": " + e.getMessage(), e);
        }
    }

    /** Parses a raw BTF blob (header + type section + string section) from its position on. */
    public static Btf parse(ByteBuffer blob) {
        try {
            return new Btf(blob.slice().order(ByteOrder.nativeOrder()), null);
        } catch (IndexOutOfBoundsException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "truncated BTF", e);
        }
    }

    /** Byte offset of a member path such as "thread.fsbase" in the named struct. */
    public synchronized long offsetOf(String struct, String memberPath) {
        try {
            return offset(struct, memberPath);
        } catch (IndexOutOfBoundsException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "truncated BTF", e);
        }
    }

    private long offset(String struct, String memberPath) {
        int type = struct(struct);
        long bits = 0;
        for (String name : memberPath.split("\\.", -1)) {
            int t = resolve(type);
            Member m = isAggregate(t) ? member(t, name) : null;
            if (m == null) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF: struct " + struct + " has no member "
                        + memberPath + (isAggregate(t) ? "" : " (" + name + " is not inside a struct or union)"));
            }
            bits += m.bits;
            type = m.type;
        }
        if (bits % 8 != 0) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF: member " + memberPath + " of struct " + struct
                    + " is a bitfield at bit " + bits + ", not on a byte boundary");
        }
        return bits / 8;
    }

    /** sizeof the named struct. */
    public synchronized long sizeOf(String struct) {
        try {
            return i32(type(struct(struct)) + 8) & 0xffffffffL;
        } catch (IndexOutOfBoundsException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "truncated BTF", e);
        }
    }

    private synchronized int struct(String name) {
        Integer id = structs.get(name);
        if (id == null) {
            byte[] want = name.getBytes(StandardCharsets.UTF_8);
            for (int i = 0; id == null; i++) {
                while (i >= structCount) {
                    if (!indexNext()) throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF has no struct " + name);
                }
                if (nameIs(i32(types[structIds[i]]), want)) id = structIds[i];
            }
            structs.put(name, id);
        }
        return id;
    }

    /** Whether the string at {@code off} in the string section is {@code want}. */
    private boolean nameIs(int off, byte[] want) {
        int start = strings + off;
        for (int i = 0; i < want.length; i++) if (i8(start + i) != want[i]) return false;
        return i8(start + want.length) == 0;
    }

    /** Member {@code name} of struct/union {@code id}, looking inside anonymous struct/union members too. */
    private Member member(int id, String name) {
        int p = type(id), info = i32(p + 4), vlen = info & 0xffff;
        boolean kindFlag = info < 0; // BTF_INFO_KFLAG(info): info >> 31
        for (int i = 0; i < vlen; i++) {
            // struct btf_member { __u32 name_off; __u32 type; __u32 offset; }: offset in bits, or with
            // kind_flag BTF_MEMBER_BIT_OFFSET (low 24 bits) and BTF_MEMBER_BITFIELD_SIZE (high 8 bits)
            int m = p + TYPE_SIZE + 12 * i, nameOff = i32(m), type = i32(m + 4), offset = i32(m + 8);
            long bits = kindFlag ? offset & 0xffffff : offset & 0xffffffffL;
            if (nameOff == 0 && isAggregate(resolve(type))) {
                Member inner = member(resolve(type), name);
                if (inner != null) return new Member(bits + inner.bits, inner.type);
            } else if (nameOff != 0 && string(nameOff).equals(name)) {
                return new Member(bits, type);
            }
        }
        return null;
    }

    /** Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the type they name. */
    private int resolve(int id) {
        for (int k = kind(id); k == TYPEDEF || k == VOLATILE || k == CONST || k == RESTRICT || k == TYPE_TAG; k = kind(id)) {
            id = i32(type(id) + 8); // btf_type.type
        }
        return id;
    }

    private boolean isAggregate(int id) {
        return kind(id) == STRUCT || kind(id) == UNION;
    }

    private int kind(int id) {
        return id == 0 ? 0 : kindAt(type(id));
    }

    /** BTF_INFO_KIND(info): bits 24-28 of btf_type.info. */
    private int kindAt(int p) {
        return (i32(p + 4) >>> 24) & 0x1f;
    }

    /** Bytes that follow a struct btf_type of this kind (btf.h). */
    private static int trailing(int id, int kind, int vlen) {
        return switch (kind) {
            case INT, VAR, DECL_TAG -> 4;        // __u32 encoding; struct btf_var; struct btf_decl_tag
            case ARRAY -> 12;                    // struct btf_array { type, index_type, nelems }
            case STRUCT, UNION -> 12 * vlen;     // struct btf_member { name_off, type, offset }
            case ENUM, FUNC_PROTO -> 8 * vlen;   // struct btf_enum { name_off, val }; struct btf_param
            case DATASEC -> 12 * vlen;           // struct btf_var_secinfo { type, offset, size }
            case ENUM64 -> 12 * vlen;            // struct btf_enum64 { name_off, val_lo32, val_hi32 }
            case PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG -> 0;
            default -> throw new Failure(Failure.Kind.UNSUPPORTED, "BTF type " + id + " has unknown kind " + kind);
        };
    }

    /** The NUL-terminated string at {@code off} in the string section. */
    private String string(int off) {
        int start = strings + off, end = start;
        while (i8(end) != 0) end++;
        byte[] s = new byte[end - start];
        for (int i = 0; i < s.length; i++) s[i] = i8(start + i);
        return new String(s, StandardCharsets.UTF_8);
    }
}
