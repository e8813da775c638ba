package io.sluice.dataplane.proxy;

import io.sluice.routetable.Balancer;

/**
 * A backend's balancing state on one shard. Shards never share it, so picking takes no lock and no atomic:
 * each core balances its own share of the traffic, which over all cores gives the configured distribution.
 */
public final class ShardBackend {
    final String name;
    final Balancer balancer;
    final ShardEndpoint[] endpoints;
    /** The backend speaks HTTP/2 (h2c, gRPC): requests go over multiplexed {@link H2UpstreamPool} connections. */
    boolean h2Upstream;
    private int next;
    private long rnd;

    ShardBackend(String name, Balancer balancer, ShardEndpoint[] endpoints, long seed) {
        this.name = name;
        this.balancer = balancer;
        this.endpoints = endpoints;
        this.rnd = seed | 1;
        this.next = (int) ((seed >>> 33) % Math.max(1, endpoints.length)); // shards start at different endpoints
    }

    /** Picks an endpoint that takes new requests, or null when there is none (503). */
    ShardEndpoint pick() {
        int n = endpoints.length;
        if (n == 0) {
            return null;
        }
        return switch (balancer) {
            case ROUND_ROBIN -> roundRobin(n);
            case WEIGHTED -> weighted(n);
            case LEAST_REQUEST -> leastRequest(n);
        };
    }

    private ShardEndpoint roundRobin(int n) {
        for (int k = 0; k < n; k++) {
            int i = next;
            next = i + 1 == n ? 0 : i + 1;
            if (!endpoints[i].draining) {
                return endpoints[i];
            }
        }
        return null;
    }

    /** Smooth weighted round robin: spreads the picks of a heavy endpoint out instead of bunching them. */
    private ShardEndpoint weighted(int n) {
        ShardEndpoint best = null;
        int total = 0;
        for (int i = 0; i < n; i++) {
            ShardEndpoint e = endpoints[i];
            if (e.draining) {
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
    private ShardEndpoint leastRequest(int n) {
        if (n == 1) {
            return endpoints[0].draining ? null : endpoints[0];
        }
        int a = nextInt(n);
        int b = nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        ShardEndpoint ea = endpoints[a];
        ShardEndpoint eb = endpoints[b];
        if (ea.draining || eb.draining) {
            if (!ea.draining) {
                return ea;
            }
            if (!eb.draining) {
                return eb;
            }
            return roundRobin(n);
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
