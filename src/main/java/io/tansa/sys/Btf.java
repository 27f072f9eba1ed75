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
    private final int[] types;                                    // type id -> offset of its btf_type
    private final int[] structIds;                                // the STRUCT types with a name, in id order
    private final Map<String, Integer> structs = new HashMap<>(); // name -> first STRUCT of that name, as looked up

    /** A member found in a struct/union: its offset in bits from the start, and its type id. */
    private record Member(long bits, int type) {}

    private Btf(ByteBuffer b) {
        this.b = b;
        // struct btf_header { __u16 magic; __u8 version; __u8 flags; __u32 hdr_len;
        //                     __u32 type_off; __u32 type_len; __u32 str_off; __u32 str_len; }
        if ((b.getShort(0) & 0xffff) != BTF_MAGIC) {
            throw new Failure(Failure.Kind.UNSUPPORTED, String.format(
                    "not BTF in the host's byte order (magic 0x%04x, want 0x%04x)", b.getShort(0) & 0xffff, BTF_MAGIC));
        }
        int hdrLen = b.getInt(4), start = hdrLen + b.getInt(8), end = start + b.getInt(12);
        strings = hdrLen + b.getInt(16);
        int[] offs = new int[1 << 16];
        int[] named = new int[1 << 12];
        int n = 1, k = 0;
        for (int p = start; p < end; n++) {
            if (n == offs.length) offs = Arrays.copyOf(offs, 2 * n);
            offs[n] = p;
            // names are compared when a struct is looked up (a few), not decoded for all (~10,000 structs)
            if (kindAt(p) == STRUCT && b.getInt(p) != 0) {
                if (k == named.length) named = Arrays.copyOf(named, 2 * k);
                named[k++] = n;
            }
            p += TYPE_SIZE + trailing(n, kindAt(p), b.getInt(p + 4) & 0xffff);
        }
        types = Arrays.copyOf(offs, n);
        structIds = Arrays.copyOf(named, k);
    }

    /** The kernel's own BTF (/sys/kernel/btf/vmlinux), parsed once. */
    public static synchronized Btf kernel() {
        if (kernel != null) return kernel;
        try {
            return kernel = parse(ByteBuffer.wrap(java.nio.file.Files.readAllBytes(VMLINUX)));
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
            return new Btf(blob.slice().order(ByteOrder.nativeOrder()));
        } catch (IndexOutOfBoundsException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "truncated BTF", e);
        }
    }

    /** Byte offset of a member path such as "thread.fsbase" in the named struct. */
    public long offsetOf(String struct, String memberPath) {
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
    public long sizeOf(String struct) {
        return b.getInt(types[struct(struct)] + 8) & 0xffffffffL;
    }

    private synchronized int struct(String name) {
        Integer id = structs.get(name);
        if (id == null) {
            byte[] want = name.getBytes(StandardCharsets.UTF_8);
            for (int t : structIds) {
                if (nameIs(b.getInt(types[t]), want)) {
                    id = t;
                    break;
                }
            }
            if (id == null) throw new Failure(Failure.Kind.UNSUPPORTED, "kernel BTF has no struct " + name);
            structs.put(name, id);
        }
        return id;
    }

    /** Whether the string at {@code off} in the string section is {@code want}. */
    private boolean nameIs(int off, byte[] want) {
        int start = strings + off;
        for (int i = 0; i < want.length; i++) if (b.get(start + i) != want[i]) return false;
        return b.get(start + want.length) == 0;
    }

    /** Member {@code name} of struct/union {@code id}, looking inside anonymous struct/union members too. */
    private Member member(int id, String name) {
        int p = types[id], info = b.getInt(p + 4), vlen = info & 0xffff;
        boolean kindFlag = info < 0; // BTF_INFO_KFLAG(info): info >> 31
        for (int i = 0; i < vlen; i++) {
            // struct btf_member { __u32 name_off; __u32 type; __u32 offset; }: offset in bits, or with
            // kind_flag BTF_MEMBER_BIT_OFFSET (low 24 bits) and BTF_MEMBER_BITFIELD_SIZE (high 8 bits)
            int m = p + TYPE_SIZE + 12 * i, nameOff = b.getInt(m), type = b.getInt(m + 4), offset = b.getInt(m + 8);
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
            id = b.getInt(types[id] + 8); // btf_type.type
        }
        return id;
    }

    private boolean isAggregate(int id) {
        return kind(id) == STRUCT || kind(id) == UNION;
    }

    private int kind(int id) {
        return id == 0 ? 0 : kindAt(types[id]);
    }

    /** BTF_INFO_KIND(info): bits 24-28 of btf_type.info. */
    private int kindAt(int p) {
        return (b.getInt(p + 4) >>> 24) & 0x1f;
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
        while (b.get(end) != 0) end++;
        byte[] s = new byte[end - start];
        b.get(start, s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
