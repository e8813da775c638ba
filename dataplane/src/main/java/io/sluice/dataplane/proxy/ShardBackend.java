package io.sluice.dataplane.proxy;

import io.sluice.routetable.Balancer;

/**
 * A backend's balancing state on one shard. Shards never share it, so picking takes no lock and no atomic:
 * each core balances its own share of the traffic, which over all cores gives the configured distribution.
 *
 * <p>Picks skip endpoints that are draining, unhealthy by the active checks or ejected by outlier detection. When that
 * leaves none but some endpoints are merely unhealthy or ejected, the pick ignores health and ejection ("panic mode",
 * as Envoy does below its panic threshold): sending to endpoints that may be down beats answering 503 for certain
 * when the checks themselves may be wrong. Draining endpoints never get new requests.
 */
public final class ShardBackend {
    final String name;
    final Balancer balancer;
    final ShardEndpoint[] endpoints;
    /** Circuit breaking: requests of this shard in flight to this backend, and the limit (0: none). */
    int active;
    final int maxRequests;
    /** Picks made in panic mode (every endpoint unhealthy or ejected). Read racily by the collector. */
    long panicPicks;
    /** The backend speaks HTTP/2 (h2c, gRPC): requests go over multiplexed {@link H2UpstreamPool} connections. */
    boolean h2Upstream;
    private int next;
    private long rnd;

    ShardBackend(String name, Balancer balancer, ShardEndpoint[] endpoints, long seed) {
        this(name, balancer, endpoints, seed, 0);
    }

    ShardBackend(String name, Balancer balancer, ShardEndpoint[] endpoints, long seed, int maxRequests) {
        this.name = name;
        this.balancer = balancer;
        this.endpoints = endpoints;
        this.maxRequests = maxRequests;
        this.rnd = seed | 1;
        this.next = (int) ((seed >>> 33) % Math.max(1, endpoints.length)); // shards start at different endpoints
    }

    public String name() {
        return name;
    }

    public long panicPicks() {
        return panicPicks;
    }

    public int activeRequests() {
        return active;
    }

    public ShardEndpoint[] endpoints() {
        return endpoints.clone();
    }

    /** Picks an endpoint that takes new requests, or null when there is none (503); ignores health and ejection. */
    ShardEndpoint pick() {
        return pick(Long.MAX_VALUE);
    }

    /** Picks an endpoint usable at {@code nowMs} (shard milliseconds), in panic mode if none is; null: 503. */
    ShardEndpoint pick(long nowMs) {
        int n = endpoints.length;
        if (n == 0) {
            return null;
        }
        ShardEndpoint e = pick(n, nowMs);
        if (e == null && nowMs != Long.MAX_VALUE) {
            e = pick(n, Long.MAX_VALUE); // with MAX_VALUE nothing counts as ejected, and health is ignored
            if (e != null) {
                panicPicks++;
            }
        }
        return e;
    }

    private ShardEndpoint pick(int n, long nowMs) {
        return switch (balancer) {
            case ROUND_ROBIN -> roundRobin(n, nowMs);
            case WEIGHTED -> weighted(n, nowMs);
            case LEAST_REQUEST -> leastRequest(n, nowMs);
        };
    }

    private static boolean ok(ShardEndpoint e, long nowMs) {
        return nowMs == Long.MAX_VALUE ? !e.draining : e.usable(nowMs);
    }

    private ShardEndpoint roundRobin(int n, long nowMs) {
        for (int k = 0; k < n; k++) {
            int i = next;
            next = i + 1 == n ? 0 : i + 1;
            if (ok(endpoints[i], nowMs)) {
                return endpoints[i];
            }
        }
        return null;
    }

    /** Smooth weighted round robin: spreads the picks of a heavy endpoint out instead of bunching them. */
    private ShardEndpoint weighted(int n, long nowMs) {
        ShardEndpoint best = null;
        int total = 0;
        for (int i = 0; i < n; i++) {
            ShardEndpoint e = endpoints[i];
            if (!ok(e, nowMs)) {
                continue;
            }
            e.currentWeight += e.weight;
            total += e.weight;
            if (best == null || e.currentWeight > best.currentWeight) {
                best = e;
            }
        }
        if (best != null) {
            best.currentWeight -= total;
        }
        return best;
    }

    /** Power of two choices on this shard's in-flight counts. */
    private ShardEndpoint leastRequest(int n, long nowMs) {
        if (n == 1) {
            return ok(endpoints[0], nowMs) ? endpoints[0] : null;
        }
        int a = nextInt(n);
        int b = nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        ShardEndpoint ea = endpoints[a];
        ShardEndpoint eb = endpoints[b];
        boolean okA = ok(ea, nowMs);
        boolean okB = ok(eb, nowMs);
        if (!okA || !okB) {
            if (okA) {
                return ea;
            }
            if (okB) {
                return eb;
            }
            return roundRobin(n, nowMs);
        }
        return eb.active < ea.active ? eb : ea;
    }

    private int nextInt(int bound) {
        long x = rnd;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        rnd = x;
        return (int) ((x >>> 1) % bound);
    }
}
