package io.sluice.dataplane.l4;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The hash of a flow that every node computes alike, so that ECMP in front of the nodes may send a flow's packets to
 * any of them: the same inputs give the same 64-bit value on every node, JVM and run (no per-process seed).
 *
 * <p>A flow is (protocol, client address, client port, service port). The destination address is left out on
 * purpose: it is the address the client used, which differs per node when clients connect to node addresses and is the
 * same VIP everywhere behind ECMP; either way the same client flow must pick the same backend. The client address
 * enters through {@link InetAddress#hashCode()}, which the JDK defines from the address bytes alone (IPv4: the 32-bit
 * address; IPv6: a sum over its 16 bytes) and which allocates nothing; the result is then mixed (the finaliser of
 * MurmurHash3) so that neighbouring addresses and ports spread over the whole table.
 */
public final class FlowHash {
    private FlowHash() {
    }

    /** The hash of the 5-tuple (minus destination address, see above). */
    public static long flow(InetSocketAddress client, int servicePort, boolean udp) {
        return flow(client.getAddress().hashCode(), client.getPort(), servicePort, udp);
    }

    public static long flow(int clientAddressHash, int clientPort, int servicePort, boolean udp) {
        long k = ((long) clientAddressHash << 32) | ((long) (clientPort & 0xffff) << 16) | (servicePort & 0xffff);
        return mix(k ^ (udp ? 0x9E3779B97F4A7C15L : 0xC2B2AE3D27D4EB4FL));
    }

    /** The hash for {@code sessionAffinity: ClientIP}: the client address and the service port only. */
    public static long clientIp(InetAddress client, int servicePort) {
        return mix(((long) client.hashCode() << 32) ^ (servicePort * 0x165667B19E3779F9L) ^ 0x27D4EB2F165667C5L);
    }

    /** MurmurHash3's 64-bit finaliser. */
    public static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    /** A seeded 64-bit hash of a string's UTF-16 units (FNV-1a, then mixed): backend names for Maglev. */
    public static long string(String s, long seed) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (int i = 0, n = s.length(); i < n; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix(h);
    }
}
