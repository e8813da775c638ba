package io.sluice.dataplane.l4;

import io.sluice.routetable.L4Service;

import java.util.HashMap;

/**
 * One L4 service compiled for the shards: endpoints resolved, the Maglev table built over the endpoints that take new
 * flows (not draining). Immutable, shared by every shard; built once per change on the publishing thread.
 */
public final class L4ServiceSpec {
    public final L4Service source;
    public final String name;
    public final String listenKey;
    public final int port;
    public final boolean udp;
    public final boolean proxyProtocol;
    public final long affinityMs;
    /** Every endpoint, draining ones included. */
    public final L4Endpoint[] endpoints;
    /** Indexes into {@link #endpoints} of the endpoints that take new flows; Maglev's backend i is active[i]. */
    final int[] active;
    final Maglev maglev;
    private final HashMap<String, Integer> activeByKey;

    L4ServiceSpec(L4Service s, int defaultTableSize) {
        source = s;
        name = s.name();
        listenKey = s.listenKey();
        port = s.listenPort();
        udp = s.protocol() == L4Service.Protocol.UDP;
        proxyProtocol = s.proxyProtocol();
        affinityMs = s.affinityTimeoutSeconds() * 1000L;
        endpoints = new L4Endpoint[s.endpoints().size()];
        int n = 0;
        for (int i = 0; i < endpoints.length; i++) {
            endpoints[i] = new L4Endpoint(s.endpoints().get(i));
            if (!endpoints[i].draining) {
                n++;
            }
        }
        active = new int[n];
        String[] names = new String[n];
        int[] weights = new int[n];
        activeByKey = new HashMap<>(n * 2);
        for (int i = 0, j = 0; i < endpoints.length; i++) {
            if (!endpoints[i].draining && !activeByKey.containsKey(endpoints[i].key)) {
                activeByKey.put(endpoints[i].key, i);
                active[j] = i;
                names[j] = endpoints[i].key;
                weights[j] = endpoints[i].weight;
                j++;
            }
        }
        int size = s.maglevTableSize() != 0 ? s.maglevTableSize() : defaultTableSize;
        int distinct = activeByKey.size();
        maglev = Maglev.build(java.util.Arrays.copyOf(names, distinct), java.util.Arrays.copyOf(weights, distinct),
            Math.max(size, nextPrimeAbove(distinct)));
    }

    /** The endpoint for a flow hash, or null when no endpoint takes new flows. */
    public L4Endpoint pick(long hash) {
        int i = maglev.lookup(hash);
        return i < 0 ? null : endpoints[active[i]];
    }

    /** The active endpoint with this key, or null (gone or draining). */
    public L4Endpoint activeEndpoint(String key) {
        Integer i = activeByKey.get(key);
        return i == null ? null : endpoints[i];
    }

    /**
     * The next active endpoint after {@code from} (by position) that {@link #tried} does not hold: the retry order after
     * a failed connect. Null when none is left.
     */
    L4Endpoint next(L4Endpoint from, L4Endpoint[] tried, int triedCount) {
        int n = activeByKey.size();
        if (n == 0) {
            return null;
        }
        int start = 0;
        for (int j = 0; j < n; j++) {
            if (endpoints[active[j]] == from) {
                start = j + 1;
                break;
            }
        }
        outer:
        for (int k = 0; k < n; k++) {
            L4Endpoint c = endpoints[active[(start + k) % n]];
            for (int t = 0; t < triedCount; t++) {
                if (tried[t] == c || tried[t].key.equals(c.key)) {
                    continue outer;
                }
            }
            return c;
        }
        return null;
    }

    public int activeCount() {
        return activeByKey.size();
    }

    public Maglev maglev() {
        return maglev;
    }

    private static int nextPrimeAbove(int n) {
        int p = n + 1;
        while (!L4Service.isPrime(p)) {
            p++;
        }
        return Math.max(p, 3);
    }
}
