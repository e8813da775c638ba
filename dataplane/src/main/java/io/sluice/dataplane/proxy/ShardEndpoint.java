package io.sluice.dataplane.proxy;

/**
 * One endpoint as one shard sees it: its pool (which also carries its health and outlier state) and this shard's count
 * of requests in flight to it.
 */
public final class ShardEndpoint {
    final CompiledTable.EndpointSpec spec;
    final UpstreamPool pool;
    final boolean draining;
    final int weight;
    /** Requests of this shard in flight to this endpoint (least-request). Shard-confined. */
    int active;
    /** Smooth weighted round robin's running weight. Shard-confined. */
    int currentWeight;

    ShardEndpoint(CompiledTable.EndpointSpec spec, UpstreamPool pool) {
        this.spec = spec;
        this.pool = pool;
        this.draining = spec.draining;
        this.weight = spec.weight;
    }

    /** Takes new requests now: not draining, healthy, not ejected. */
    boolean usable(long nowMs) {
        return !draining && pool.available(nowMs);
    }

    public String key() {
        return spec.key;
    }

    public UpstreamPool pool() {
        return pool;
    }

    public int active() {
        return active;
    }
}
