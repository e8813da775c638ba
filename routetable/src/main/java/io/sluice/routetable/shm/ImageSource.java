package io.sluice.routetable.shm;

import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked cursor over a section of an image. Every count and length read from it is checked against the
 * bytes that remain, so even a table that passed its checksum but was written by a buggy encoder fails with a
 * {@link CorruptRouteTableException} rather than an {@code OutOfMemoryError} or a silently wrong table.
 */
final class ImageSource {
    private final byte[] buf;
    private final int end;
    private final String section;
    private int pos;

    ImageSource(byte[] buf, int offset, int length, String section) {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
        this.section = section;
    }

    boolean atEnd() {
        return pos == end;
    }

    int remaining() {
        return end - pos;
    }

    CorruptRouteTableException corrupt(String what) {
        return new CorruptRouteTableException(section + " section: " + what);
    }

    int getByte() throws CorruptRouteTableException {
        if (pos >= end) {
            throw corrupt("truncated");
        }
        return buf[pos++] & 0xff;
    }

    int getVarint() throws CorruptRouteTableException {
        int v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            int b = getByte();
            v |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                if (v < 0) {
                    throw corrupt("varint out of range");
                }
                return v;
            }
        }
        throw corrupt("varint longer than 5 bytes");
    }

    /** A count of items each taking at least {@code minBytesEach} bytes: bounded by what remains. */
    int getCount(int minBytesEach) throws CorruptRouteTableException {
        int n = getVarint();
        if ((long) n * minBytesEach > remaining()) {
            throw corrupt("count " + n + " exceeds the " + remaining() + " bytes left");
        }
        return n;
    }

    String getString() throws CorruptRouteTableException {
        int n = getVarint();
        if (n > remaining()) {
            throw corrupt("string of " + n + " bytes exceeds the " + remaining() + " bytes left");
        }
        boolean ascii = true;
        for (int i = pos; i < pos + n; i++) {
            if (buf[i] < 0) {
                ascii = false;
                break;
            }
        }
        String s = new String(buf, pos, n, ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        pos += n;
        return s;
    }
}
