package io.sluice.dataplane.l4;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;

/**
 * {@code sessionAffinity: ClientIP} for one service on one shard: client address → endpoint, kept for the Service's
 * timeout after the client's last new flow (as kube-proxy does). New clients are placed by Maglev over the client
 * address alone, which every node computes alike; the entries are what keeps a client on its endpoint when the
 * endpoint set changes (an endpoint added would otherwise take some clients over). An entry whose endpoint is gone or
 * draining is not used. Shard-confined; expired entries are dropped by the sweep.
 */
final class Affinity {
    private static final class Entry {
        String endpointKey;
        long expiresAtMs;
    }

    private final HashMap<InetAddress, Entry> entries = new HashMap<>();

    /** The remembered endpoint for {@code client}, if it is still active in {@code spec}. */
    L4Endpoint lookup(InetAddress client, L4ServiceSpec spec, long now) {
        Entry e = entries.get(client);
        if (e == null || e.expiresAtMs <= now) {
            return null;
        }
        return spec.activeEndpoint(e.endpointKey);
    }

    void remember(InetAddress client, L4Endpoint endpoint, long now, long timeoutMs) {
        Entry e = entries.get(client);
        if (e == null) {
            e = new Entry();
            entries.put(client, e);
        }
        e.endpointKey = endpoint.key;
        e.expiresAtMs = now + timeoutMs;
    }

    void expire(long now) {
        if (entries.isEmpty()) {
            return;
        }
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            if (it.next().expiresAtMs <= now) {
                it.remove();
            }
        }
    }

    int size() {
        return entries.size();
    }
}
