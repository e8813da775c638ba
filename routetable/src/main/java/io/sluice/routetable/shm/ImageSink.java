package io.sluice.routetable.shm;

import java.util.Arrays;

/**
 * A growable little-endian byte array with LEB128 varints: what the encoder writes sections into. Single-threaded,
 * reused from one encode to the next so a steady stream of publications allocates only when a table outgrows it.
 */
final class ImageSink {
    private byte[] buf;
    private int pos;

    ImageSink(int initialCapacity) {
        buf = new byte[Math.max(64, initialCapacity)];
    }

    int position() {
        return pos;
    }

    void reset() {
        pos = 0;
    }

    byte[] array() {
        return buf;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, pos);
    }

    private void ensure(int more) {
        if (pos + more > buf.length) {
            grow(more); // kept out of line so that this check inlines into every put
        }
    }

    private void grow(int more) {
        long want = Math.max((long) buf.length * 2, (long) pos + more);
        if (want > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("route table image larger than 2 GiB");
        }
        buf = Arrays.copyOf(buf, (int) want);
    }

    void skip(int n) {
        ensure(n);
        pos += n;
    }

    void putByte(int v) {
        ensure(1);
        buf[pos++] = (byte) v;
    }

    void putBytes(byte[] src, int off, int len) {
        ensure(len);
        System.arraycopy(src, off, buf, pos, len);
        pos += len;
    }

    /** Unsigned LEB128; {@code v} must be non-negative. */
    void putVarint(int v) {
        if (v < 0) {
            throw new IllegalArgumentException("negative varint " + v);
        }
        ensure(5);
        while ((v & ~0x7f) != 0) {
            buf[pos++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        buf[pos++] = (byte) v;
    }

    /** Varint byte length then UTF-8 ({@code String.getBytes} is an intrinsic copy for the usual ASCII). */
    void putString(String s) {
        byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        putVarint(utf8.length);
        putBytes(utf8, 0, utf8.length);
    }

    static void putIntLE(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    static void putLongLE(byte[] b, int at, long v) {
        putIntLE(b, at, (int) v);
        putIntLE(b, at + 4, (int) (v >>> 32));
    }

    static void putShortLE(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }
}
