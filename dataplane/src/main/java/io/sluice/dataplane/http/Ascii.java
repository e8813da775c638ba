package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/** Byte-level helpers on ASCII text in buffers. None allocates. */
public final class Ascii {
    /** Bit i set when byte i is an RFC 9110 tchar. */
    private static final boolean[] TCHAR = new boolean[256];
    /** Bytes allowed in a request target (printable ASCII except '#'); anything else is rejected. */
    private static final boolean[] TARGET = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
        for (int c = 0x21; c <= 0x7e; c++) {
            TARGET[c] = c != '#';
        }
    }

    /** forEachByte processor: stops at the first byte that is not a tchar. Stateless, shared. */
    public static final io.netty.util.ByteProcessor NOT_TCHAR = b -> TCHAR[b & 0xff];
    /** forEachByte processor: stops at a control byte not allowed in a field value (all but HTAB, and DEL). */
    public static final io.netty.util.ByteProcessor FIELD_VALUE_CTL = b -> (b >= 0x20 || b == '\t' || b < 0) && b != 0x7f;
    /** forEachByte processor: stops at a byte not allowed in a request target. */
    public static final io.netty.util.ByteProcessor NOT_TARGET = b -> TARGET[b & 0xff];

    private Ascii() {
    }

    public static boolean isTchar(int b) {
        return TCHAR[b & 0xff];
    }

    public static int lower(int b) {
        return (b >= 'A' && b <= 'Z') ? b + 32 : b;
    }

    /** Compares {@code [start, start+len)} with lower-case {@code lowerName}, ignoring ASCII case. */
    public static boolean equalsIgnoreCase(ByteBuf buf, int start, int len, byte[] lowerName) {
        if (len != lowerName.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (lower(buf.getByte(start + i)) != lowerName[i]) {
                return false;
            }
        }
        return true;
    }

    /** Case-insensitive comparison of two ranges of (possibly different) buffers. */
    public static boolean equalsIgnoreCase(ByteBuf a, int aStart, ByteBuf b, int bStart, int len) {
        for (int i = 0; i < len; i++) {
            if (lower(a.getByte(aStart + i)) != lower(b.getByte(bStart + i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses a non-negative decimal of at most 18 digits (no sign, no spaces) or returns -1. Content-Length values
     * are parsed with this: anything but digits (a list, a sign, a space) is ambiguous framing.
     */
    public static long parseDecimal(ByteBuf buf, int start, int end) {
        int len = end - start;
        if (len <= 0 || len > 18) {
            return -1;
        }
        long v = 0;
        for (int i = start; i < end; i++) {
            int d = buf.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }

    /** Writes a non-negative int in decimal without allocating. */
    public static void writeDecimal(ByteBuf out, int v) {
        if (v == 0) {
            out.writeByte('0');
            return;
        }
        int digits = 0;
        for (int t = v; t > 0; t /= 10) {
            digits++;
        }
        int at = out.writerIndex() + digits;
        out.ensureWritable(digits);
        for (int i = 1; i <= digits; i++) {
            out.setByte(at - i, '0' + v % 10);
            v /= 10;
        }
        out.writerIndex(at);
    }
}
