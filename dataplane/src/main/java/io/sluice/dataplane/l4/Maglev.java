package io.sluice.dataplane.l4;

/**
 * A Maglev consistent-hashing lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, section 3.4).
 *
 * <p>Each backend {@code i} gets a permutation of the table's slots from two hashes of its name:
 * {@code offset = h1(name) mod M}, {@code skip = h2(name) mod (M - 1) + 1}, {@code permutation[i][j] = (offset + j *
 * skip) mod M}. Because {@code M} is prime, every skip is coprime with it and each permutation visits every slot.
 * The backends then take turns, each claiming the next slot of its own permutation that is still free, until all
 * {@code M} slots are taken. A backend of weight {@code w} takes {@code w} turns per round (the paper's weighted
 * variant), so it gets about {@code w} times as many slots. Every backend gets {@code M/N} slots give or take one
 * (unweighted); a flow is looked up as {@code entry[hash mod M]}.
 *
 * <p>Why this and not a hash ring: the table is balanced to within one slot, lookups are one array read, and it is
 * nearly minimally disruptive: when a backend goes, its slots are taken over by the others, and the paper shows the
 * other backends' slots move only a little (more when {@code M} is small relative to {@code N}; with
 * {@code M >= 100 N}, as the paper recommends, a few per cent at most). Each node builds the same table from the same
 * backend list, so every node maps a flow to the same backend (ECMP-safe). Backend names, not positions, seed the
 * permutations: the order of the list does not matter, except to break the ties of the turn order.
 *
 * <p>The table size must be a prime; the default, 65537, fits up to about 650 backends at the paper's ratio. Bigger
 * services set a larger prime (for example 655373). Building costs O(M log M) on average (the paper's bound), under a
 * millisecond for the default; it happens once per table change on the publishing thread, never on a shard.
 */
public final class Maglev {
    private final int[] entry;

    private Maglev(int[] entry) {
        this.entry = entry;
    }

    /**
     * Builds the table.
     *
     * @param names   backend names (distinct); the index of a name is what {@link #lookup} returns
     * @param weights weight per backend, at least 1; null means all 1
     * @param size    table size, a prime greater than the number of backends
     */
    public static Maglev build(String[] names, int[] weights, int size) {
        int n = names.length;
        int[] entry = new int[size];
        if (n == 0) {
            java.util.Arrays.fill(entry, -1);
            return new Maglev(entry);
        }
        if (size <= n) {
            throw new IllegalArgumentException("Maglev table size " + size + " must exceed the backend count " + n);
        }
        // pos[i] is permutation[i][next[i]]: walked by adding skip mod M (no multiply, no division per step).
        int[] pos = new int[n];
        int[] skip = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = (int) Long.remainderUnsigned(FlowHash.string(names[i], 0x5851F42D4C957F2DL), size);
            skip[i] = (int) Long.remainderUnsigned(FlowHash.string(names[i], 0x14057B7EF767814FL), size - 1) + 1;
        }
        java.util.Arrays.fill(entry, -1);
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                int turns = weights == null ? 1 : weights[i];
                for (int t = 0; t < turns; t++) {
                    int c = pos[i];
                    while (entry[c] >= 0) {
                        c += skip[i];
                        if (c >= size) {
                            c -= size;
                        }
                    }
                    entry[c] = i;
                    c += skip[i];
                    pos[i] = c >= size ? c - size : c;
                    if (++filled == size) {
                        return new Maglev(entry);
                    }
                }
            }
        }
    }

    /** The backend index for a flow hash; -1 when the table has no backend. No allocation. */
    public int lookup(long hash) {
        return entry[(int) Long.remainderUnsigned(hash, entry.length)];
    }

    public int size() {
        return entry.length;
    }

    /** Slots held by each backend (tests, diagnostics). */
    public int[] slotsPerBackend(int backends) {
        int[] c = new int[backends];
        for (int e : entry) {
            if (e >= 0) {
                c[e]++;
            }
        }
        return c;
    }
}
