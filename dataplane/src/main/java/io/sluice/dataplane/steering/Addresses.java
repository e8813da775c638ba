package io.sluice.dataplane.steering;

import java.net.InetAddress;

/** Addresses in the form the Toeplitz hash takes them: IPv4 as a big-endian int, IPv6 as two big-endian longs. */
final class Addresses {
    private Addresses() {
    }

    static int ipv4(InetAddress a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    /** First eight bytes of a 16-byte address. */
    static long high(byte[] b) {
        return word(b, 0);
    }

    /** Last eight bytes of a 16-byte address. */
    static long low(byte[] b) {
        return word(b, 8);
    }

    private static long word(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }
}
