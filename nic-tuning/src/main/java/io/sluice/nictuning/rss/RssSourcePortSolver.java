package io.sluice.nictuning.rss;

import java.util.Arrays;
import java.util.Objects;

/**
 * Chooses the local port of an outgoing (upstream) connection so that the NIC's RSS hash of the <em>reply</em> flow
 * lands on a receive queue owned by the calling shard: the replies are then received, interrupt to socket, on the
 * shard's own core.
 *
 * <h2>Why it can solve instead of search</h2>
 * A reply packet arrives with source = the upstream (address {@code R}, port {@code r}) and destination = us (address
 * {@code L}, port {@code p}, the unknown). Toeplitz is linear over GF(2), so with {@code p} split off:
 * <pre>
 *   hash(R, L, r, p) = hash(R, L, r, 0) ^ hash(0, 0, 0, p) = c ^ M·p
 * </pre>
 * where {@code c} is one hash per connection and {@code M} is a fixed 32×16 bit matrix whose column {@code k} is the
 * hash of the port value {@code 1 << k} alone; {@code M} depends only on the key and on where the port sits in the
 * input (IPv4 or IPv6), not on the addresses. The NIC uses only the low {@code m = log2(table size)} hash bits, so the
 * queue of port {@code p} is {@code table[(c ^ M_m·p)]} with {@code M_m} the low {@code m} rows of {@code M}. For an
 * owned table index {@code t}, the ports landing on it are exactly the solutions of {@code M_m·p = t ^ c}: one
 * particular solution {@code p0} plus any combination of a basis of {@code M_m}'s null space. The constructor does the
 * Gaussian elimination once and tabulates {@code p0} for every reachable syndrome and every null-space combination; a
 * search then walks the owned table indices and, for each, its {@code 2^(16 - rank)} solutions, so every port it
 * returns lands on an owned queue, each such port is returned exactly once, and none is tried and rejected except for
 * lying outside the requested port range.
 *
 * <h2>Use</h2>
 * One instance per shard, used only on that shard's thread (the search cursor is mutable state). Call
 * {@link #startIpv4} or {@link #startIpv6} for a new upstream connection, then {@link #nextPort()} until a returned
 * port can be bound (skip ports in use); {@code -1} means no further port in the range lands on the shard's queues,
 * and the caller falls back to an ordinary ephemeral port (the replies then arrive on another core). The hot methods
 * do not allocate. The NIC must hash TCP over the 4-tuple (the default for TCP on mlx5, ice, i40e, ixgbe and ena);
 * with an addresses-only hash no port choice changes the queue and the search yields either every port or none.
 */
public final class RssSourcePortSolver {
    private static final int PORT_BITS = 16;

    private final int mask;
    private final int[] ownedIndices;
    private final Family ipv4;
    private final Family ipv6;
    private final ToeplitzHash hash;

    // Search cursor, owned by the calling shard's thread.
    private Family family;
    private int fixed;
    private int portMin;
    private int portMax;
    private int slot;
    private int slotsLeft;
    private int particular;
    private int combo;
    private int rotation;

    /**
     * @param hash the Toeplitz hash under the NIC's RSS key
     * @param indirection the NIC's indirection table (power-of-two size)
     * @param ownedQueues the receive queues the calling shard owns
     */
    public RssSourcePortSolver(ToeplitzHash hash, int[] indirection, int[] ownedQueues) {
        this.hash = Objects.requireNonNull(hash, "hash");
        Objects.requireNonNull(indirection, "indirection");
        Objects.requireNonNull(ownedQueues, "ownedQueues");
        RssTable.requirePowerOfTwo(indirection.length);
        this.mask = indirection.length - 1;
        int[] owned = new int[indirection.length];
        int count = 0;
        for (int index = 0; index < indirection.length; index++) {
            if (contains(ownedQueues, indirection[index])) {
                owned[count++] = index;
            }
        }
        this.ownedIndices = Arrays.copyOf(owned, count);
        int[] columns4 = new int[PORT_BITS];
        int[] columns6 = new int[PORT_BITS];
        for (int k = 0; k < PORT_BITS; k++) {
            columns4[k] = hash.hashIpv4(0, 0, 0, 1 << k);
            columns6[k] = hash.hashIpv6(0, 0, 0, 0, 0, 1 << k);
        }
        this.ipv4 = new Family(columns4, mask);
        this.ipv6 = new Family(columns6, mask);
    }

    /** Convenience for a shard that owns one queue. */
    public RssSourcePortSolver(ToeplitzHash hash, int[] indirection, int ownedQueue) {
        this(hash, indirection, new int[] {ownedQueue});
    }

    private static boolean contains(int[] values, int value) {
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }

    /** Number of indirection-table entries that point at an owned queue. */
    public int ownedEntries() {
        return ownedIndices.length;
    }

    /** Rank of the low-bits port matrix for IPv4: {@code 2^(16 - rank)} ports share each reachable table entry. */
    public int ipv4Rank() {
        return ipv4.rank;
    }

    /** As {@link #ipv4Rank()}, for IPv6. */
    public int ipv6Rank() {
        return ipv6.rank;
    }

    /**
     * Starts a search for an IPv4 upstream connection from {@code localAddress} to {@code remoteAddress:remotePort},
     * for local ports in {@code [portMin, portMax]}. Successive searches start at different table entries, so that
     * connections to the same upstream spread over the candidate ports.
     */
    public void startIpv4(int remoteAddress, int localAddress, int remotePort, int portMin, int portMax) {
        begin(ipv4, hash.hashIpv4(remoteAddress, localAddress, remotePort, 0), portMin, portMax);
    }

    /** As {@link #startIpv4}, for IPv6 (each address is its first and last eight bytes). */
    public void startIpv6(long remoteHigh, long remoteLow, long localHigh, long localLow, int remotePort,
            int portMin, int portMax) {
        begin(ipv6, hash.hashIpv6(remoteHigh, remoteLow, localHigh, localLow, remotePort, 0), portMin, portMax);
    }

    private void begin(Family f, int fixedHash, int min, int max) {
        if (min < 0 || max > 0xffff || min > max) {
            throw new IllegalArgumentException("bad port range [" + min + ", " + max + "]");
        }
        this.family = f;
        this.fixed = fixedHash & mask;
        this.portMin = min;
        this.portMax = max;
        int owned = ownedIndices.length;
        this.slotsLeft = owned;
        this.slot = owned == 0 ? 0 : Integer.remainderUnsigned(rotation++, owned);
        this.combo = f.nullCombos.length;
    }

    /**
     * The next local port of the current search whose reply flow lands on an owned queue, or {@code -1} when the
     * search is exhausted (no further port in the range fits; also before any search was started).
     */
    public int nextPort() {
        final Family f = family;
        if (f == null) {
            return -1;
        }
        final int[] combos = f.nullCombos;
        while (true) {
            while (combo < combos.length) {
                int port = particular ^ combos[combo++];
                if (port >= portMin && port <= portMax) {
                    return port;
                }
            }
            if (slotsLeft == 0) {
                family = null;
                return -1;
            }
            slotsLeft--;
            int index = ownedIndices[slot];
            slot = slot + 1 == ownedIndices.length ? 0 : slot + 1;
            int p0 = f.portForSyndrome[index ^ fixed];
            if (p0 >= 0) {
                particular = p0;
                combo = 0;
            }
        }
    }

    /**
     * The solved form of {@code M_m·p = s} for one input family: a particular port for each reachable syndrome
     * {@code s} (-1 where none) and every combination of the null-space basis.
     */
    private static final class Family {
        final int[] portForSyndrome;
        final int[] nullCombos;
        final int rank;

        Family(int[] columns, int mask) {
            // XOR basis keyed by each vector's highest set bit, with the port bits that produce it.
            int[] basisVector = new int[32];
            int[] basisPort = new int[32];
            boolean[] present = new boolean[32];
            int[] nullVectors = new int[PORT_BITS];
            int nulls = 0;
            for (int k = PORT_BITS - 1; k >= 0; k--) {
                int v = columns[k] & mask;
                int p = 1 << k;
                while (v != 0) {
                    int top = 31 - Integer.numberOfLeadingZeros(v);
                    if (!present[top]) {
                        present[top] = true;
                        basisVector[top] = v;
                        basisPort[top] = p;
                        break;
                    }
                    v ^= basisVector[top];
                    p ^= basisPort[top];
                }
                if (v == 0) {
                    nullVectors[nulls++] = p; // M_m·p == 0, and p's lowest bit is k: independent of the others
                }
            }
            this.rank = PORT_BITS - nulls;
            int[] vectors = new int[rank];
            int[] ports = new int[rank];
            int r = 0;
            for (int bit = 0; bit < 32; bit++) {
                if (present[bit]) {
                    vectors[r] = basisVector[bit];
                    ports[r] = basisPort[bit];
                    r++;
                }
            }
            // Every combination of basis vectors, in Gray-code order: one XOR per step.
            this.portForSyndrome = new int[mask + 1];
            Arrays.fill(portForSyndrome, -1);
            portForSyndrome[0] = 0;
            int syndrome = 0;
            int port = 0;
            for (int i = 1; i < (1 << rank); i++) {
                int flip = Integer.numberOfTrailingZeros(i);
                syndrome ^= vectors[flip];
                port ^= ports[flip];
                portForSyndrome[syndrome] = port;
            }
            this.nullCombos = new int[1 << nulls];
            int combo = 0;
            for (int i = 1; i < nullCombos.length; i++) {
                combo ^= nullVectors[Integer.numberOfTrailingZeros(i)];
                nullCombos[i] = combo;
            }
        }
    }
}
