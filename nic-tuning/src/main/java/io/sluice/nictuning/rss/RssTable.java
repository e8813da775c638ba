package io.sluice.nictuning.rss;

import java.util.Objects;

/**
 * A NIC's RSS function: the Toeplitz hash under its key, then the indirection table, which maps the low bits of the
 * hash to a receive queue. Answers "which queue will the NIC put this flow on", e.g. for an acceptor that must hand a
 * connection to the shard owning that queue when the kernel cannot steer it.
 *
 * <p>The table size must be a power of two: the NIC indexes it with {@code hash & (size - 1)}, the hash's least
 * significant bits (mlx5, ice, i40e, ixgbe and the Microsoft RSS specification all do). Immutable; the lookups do not
 * allocate.
 */
public final class RssTable {
    private final ToeplitzHash hash;
    private final int[] indirection;
    private final int mask;

    /**
     * @param hash the Toeplitz hash under the NIC's key
     * @param indirection the indirection table (entry i = queue for hash low bits i); power-of-two size; copied
     */
    public RssTable(ToeplitzHash hash, int[] indirection) {
        this.hash = Objects.requireNonNull(hash, "hash");
        Objects.requireNonNull(indirection, "indirection");
        requirePowerOfTwo(indirection.length);
        for (int queue : indirection) {
            if (queue < 0) {
                throw new IllegalArgumentException("negative queue in indirection table: " + queue);
            }
        }
        this.indirection = indirection.clone();
        this.mask = indirection.length - 1;
    }

    static void requirePowerOfTwo(int size) {
        if (size <= 0 || (size & (size - 1)) != 0 || size > 65536) {
            throw new IllegalArgumentException(
                    "indirection table size must be a power of two between 1 and 65536, got " + size);
        }
    }

    /** The hash function. */
    public ToeplitzHash hash() {
        return hash;
    }

    /** Number of indirection table entries. */
    public int size() {
        return indirection.length;
    }

    /** A copy of the indirection table. */
    public int[] indirection() {
        return indirection.clone();
    }

    /** The queue the NIC picks for a packet with this RSS hash. */
    public int queueForHash(int rssHash) {
        return indirection[rssHash & mask];
    }

    /** The queue a received IPv4 TCP/UDP packet with this 4-tuple (as received: source = the peer) lands on. */
    public int queueForIpv4(int srcAddress, int dstAddress, int srcPort, int dstPort) {
        return indirection[hash.hashIpv4(srcAddress, dstAddress, srcPort, dstPort) & mask];
    }

    /** The queue a received IPv6 TCP/UDP packet with this 4-tuple (as received: source = the peer) lands on. */
    public int queueForIpv6(long srcHigh, long srcLow, long dstHigh, long dstLow, int srcPort, int dstPort) {
        return indirection[hash.hashIpv6(srcHigh, srcLow, dstHigh, dstLow, srcPort, dstPort) & mask];
    }
}
