package io.sluice.nictuning.rss;

import java.util.Objects;

/**
 * The Toeplitz hash that NICs use for receive-side scaling, table-driven.
 *
 * <p>The Toeplitz hash of an input bit string {@code d} under key {@code K} is the XOR, over every input bit
 * {@code i} that is set, of the 32-bit window of the key that starts at bit {@code i} (bits counted from the most
 * significant bit of the first key byte). Because that is linear over GF(2), the contribution of each input byte
 * depends only on its position and its value: the constructor precomputes those 256 contributions for each of the
 * 36 byte positions an IPv6 4-tuple can occupy, and a hash is then one table load and one XOR per input byte
 * (12 for IPv4 with ports). Linearity is also what {@link RssSourcePortSolver} exploits: {@code hash(x ^ y) ==
 * hash(x) ^ hash(y)}, and the hash of all zeros is zero.
 *
 * <p>Input layout, as NICs hash a received packet: source address, destination address, then (for the TCP/UDP
 * variants) source port and destination port, all in network byte order. Addresses are passed as they are
 * written: the IPv4 address {@code 10.1.2.3} is the int {@code 0x0A010203}; an IPv6 address is two longs, the first
 * holding its first eight bytes. Ports are the low 16 bits of an int.
 *
 * <p>Instances are immutable and may be shared between threads; the hash methods do not allocate.
 */
public final class ToeplitzHash {
    /** Bytes of input for an IPv4 address pair. */
    public static final int IPV4_INPUT_BYTES = 8;
    /** Bytes of input for an IPv4 address pair and two ports. */
    public static final int IPV4_PORTS_INPUT_BYTES = 12;
    /** Bytes of input for an IPv6 address pair. */
    public static final int IPV6_INPUT_BYTES = 32;
    /** Bytes of input for an IPv6 address pair and two ports; also the longest input this class hashes. */
    public static final int IPV6_PORTS_INPUT_BYTES = 36;
    /** Shortest key accepted: the longest input plus the 4 bytes of the last bit's window. */
    public static final int MIN_KEY_BYTES = IPV6_PORTS_INPUT_BYTES + 4;

    private static final byte[] MICROSOFT_KEY = {
        (byte) 0x6d, (byte) 0x5a, (byte) 0x56, (byte) 0xda, (byte) 0x25, (byte) 0x5b, (byte) 0x0e, (byte) 0xc2,
        (byte) 0x41, (byte) 0x67, (byte) 0x25, (byte) 0x3d, (byte) 0x43, (byte) 0xa3, (byte) 0x8f, (byte) 0xb0,
        (byte) 0xd0, (byte) 0xca, (byte) 0x2b, (byte) 0xcb, (byte) 0xae, (byte) 0x7b, (byte) 0x30, (byte) 0xb4,
        (byte) 0x77, (byte) 0xcb, (byte) 0x2d, (byte) 0xa3, (byte) 0x80, (byte) 0x30, (byte) 0xf2, (byte) 0x0c,
        (byte) 0x6a, (byte) 0x42, (byte) 0xb7, (byte) 0x3b, (byte) 0xbe, (byte) 0xac, (byte) 0x01, (byte) 0xfa,
    };

    private final byte[] key;
    /** {@code table[position * 256 + byteValue]}: the hash contribution of that byte at that input position. */
    private final int[] table;

    /**
     * @param key the NIC's RSS key, at least {@link #MIN_KEY_BYTES} bytes (NICs use 40 or 52); copied
     */
    public ToeplitzHash(byte[] key) {
        Objects.requireNonNull(key, "key");
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("RSS key must have at least " + MIN_KEY_BYTES
                    + " bytes to hash an IPv6 4-tuple, got " + key.length);
        }
        this.key = key.clone();
        this.table = new int[IPV6_PORTS_INPUT_BYTES * 256];
        for (int position = 0; position < IPV6_PORTS_INPUT_BYTES; position++) {
            int base = position * 256;
            for (int bit = 0; bit < 8; bit++) {
                int window = window(this.key, position * 8 + bit);
                int bitMask = 0x80 >>> bit;
                for (int value = 0; value < 256; value++) {
                    if ((value & bitMask) != 0) {
                        table[base + value] ^= window;
                    }
                }
            }
        }
    }

    /** The 40-byte key of Microsoft's RSS verification suite, also the default key of several NIC drivers. */
    public static byte[] microsoftKey() {
        return MICROSOFT_KEY.clone();
    }

    /** A copy of the key. */
    public byte[] key() {
        return key.clone();
    }

    /** The 32 key bits starting at key bit {@code bitOffset}, most significant first. */
    private static int window(byte[] key, int bitOffset) {
        int first = bitOffset >>> 3;
        long bits = 0;
        for (int i = 0; i < 5; i++) {
            int index = first + i;
            bits = (bits << 8) | (index < key.length ? key[index] & 0xff : 0);
        }
        return (int) (bits >>> (8 - (bitOffset & 7)));
    }

    /** Hash of an IPv4 source and destination address (the NIC's "IPv4" hash type). */
    public int hashIpv4(int srcAddress, int dstAddress) {
        final int[] t = table;
        return t[srcAddress >>> 24]
                ^ t[256 + ((srcAddress >>> 16) & 0xff)]
                ^ t[512 + ((srcAddress >>> 8) & 0xff)]
                ^ t[768 + (srcAddress & 0xff)]
                ^ t[1024 + (dstAddress >>> 24)]
                ^ t[1280 + ((dstAddress >>> 16) & 0xff)]
                ^ t[1536 + ((dstAddress >>> 8) & 0xff)]
                ^ t[1792 + (dstAddress & 0xff)];
    }

    /** Hash of an IPv4 4-tuple (the NIC's "TCP/IPv4" and "UDP/IPv4" hash types). */
    public int hashIpv4(int srcAddress, int dstAddress, int srcPort, int dstPort) {
        // The hash is linear: the 4-tuple's is the addresses' hash xor the ports' contribution (input bytes 8-11).
        final int[] t = table;
        return hashIpv4(srcAddress, dstAddress)
                ^ t[2048 + ((srcPort >>> 8) & 0xff)]
                ^ t[2304 + (srcPort & 0xff)]
                ^ t[2560 + ((dstPort >>> 8) & 0xff)]
                ^ t[2816 + (dstPort & 0xff)];
    }

    /** Hash of an IPv6 source and destination address; each address is its first and last eight bytes. */
    public int hashIpv6(long srcHigh, long srcLow, long dstHigh, long dstLow) {
        final int[] t = table;
        return eightBytes(t, 0, srcHigh) ^ eightBytes(t, 8 * 256, srcLow)
                ^ eightBytes(t, 16 * 256, dstHigh) ^ eightBytes(t, 24 * 256, dstLow);
    }

    /** Hash of an IPv6 4-tuple; each address is its first and last eight bytes. */
    public int hashIpv6(long srcHigh, long srcLow, long dstHigh, long dstLow, int srcPort, int dstPort) {
        final int[] t = table;
        return eightBytes(t, 0, srcHigh) ^ eightBytes(t, 8 * 256, srcLow)
                ^ eightBytes(t, 16 * 256, dstHigh) ^ eightBytes(t, 24 * 256, dstLow)
                ^ t[32 * 256 + ((srcPort >>> 8) & 0xff)]
                ^ t[33 * 256 + (srcPort & 0xff)]
                ^ t[34 * 256 + ((dstPort >>> 8) & 0xff)]
                ^ t[35 * 256 + (dstPort & 0xff)];
    }

    /**
     * Hash of {@code length} bytes of {@code input} from {@code offset}, laid out as described in the class docs
     * (at most {@link #IPV6_PORTS_INPUT_BYTES}).
     */
    public int hash(byte[] input, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, input.length);
        if (length > IPV6_PORTS_INPUT_BYTES) {
            throw new IllegalArgumentException("input longer than " + IPV6_PORTS_INPUT_BYTES + " bytes: " + length);
        }
        final int[] t = table;
        int h = 0;
        for (int i = 0; i < length; i++) {
            h ^= t[(i << 8) + (input[offset + i] & 0xff)];
        }
        return h;
    }

    private static int eightBytes(int[] t, int base, long v) {
        return t[base + (int) (v >>> 56)]
                ^ t[base + 256 + ((int) (v >>> 48) & 0xff)]
                ^ t[base + 512 + ((int) (v >>> 40) & 0xff)]
                ^ t[base + 768 + ((int) (v >>> 32) & 0xff)]
                ^ t[base + 1024 + ((int) (v >>> 24) & 0xff)]
                ^ t[base + 1280 + ((int) (v >>> 16) & 0xff)]
                ^ t[base + 1536 + ((int) (v >>> 8) & 0xff)]
                ^ t[base + 1792 + ((int) v & 0xff)];
    }
}
