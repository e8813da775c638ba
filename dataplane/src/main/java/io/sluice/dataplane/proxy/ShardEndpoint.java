package io.sluice.dataplane.proxy;

/** One endpoint as one shard sees it: its pool and this shard's count of requests in flight to it. */
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
}
