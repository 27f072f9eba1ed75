package io.tansa.net;

/** Socket addresses printed as ss prints them: "127.0.0.1:8080", "[::1]:8080", "[::ffff:10.0.0.1]:80". */
final class Addr {
    private Addr() {}

    static String format(byte[] a, int port) {
        return (a.length == 4 ? v4(a) : "[" + v6(a) + "]") + ":" + port;
    }

    private static String v4(byte[] a) {
        return (a[0] & 255) + "." + (a[1] & 255) + "." + (a[2] & 255) + "." + (a[3] & 255);
    }

    /** RFC 5952 text: the longest run (of two or more) of zero groups becomes "::". */
    static String v6(byte[] a) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((a[2 * i] & 255) << 8) | (a[2 * i + 1] & 255);
        boolean mapped = g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff;
        if (mapped) return "::ffff:" + v4(new byte[] {a[12], a[13], a[14], a[15]});
        int best = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) { best = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                b.append("::");
                i += bestLen - 1;
                continue;
            }
            if (b.length() > 0 && b.charAt(b.length() - 1) != ':') b.append(':');
            b.append(Integer.toHexString(g[i]));
        }
        return b.toString();
    }
}
