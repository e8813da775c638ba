package io.sluice.dataplane.ops;

import io.sluice.dataplane.config.OpsConfig;

/**
 * What the shards of one data plane share for operations: the settings, the endpoint health registry the
 * {@code sluice-health} thread writes, and the access log (null when off). Created by {@code DataPlane.start} before
 * the shards; each shard keeps references to its parts.
 */
public final class NodeOps implements AutoCloseable {
    public final OpsConfig config;
    public final int shards;
    public final HealthRegistry health = new HealthRegistry();
    /** Null when the access log is off. */
    public final AccessLog accessLog;
    /** Set when SIGTERM (or a shutdown) starts draining: /readyz answers 503 from then on. */
    private volatile boolean draining;
    private volatile long drainStartedMillis;

    public NodeOps(OpsConfig config, int shards) {
        this.config = config;
        this.shards = shards;
        this.accessLog = AccessLog.open(config.accessLog(), shards);
    }

    public boolean draining() {
        return draining;
    }

    public long drainStartedMillis() {
        return drainStartedMillis;
    }

    public void startDraining() {
        if (!draining) {
            drainStartedMillis = System.currentTimeMillis();
            draining = true;
        }
    }

    @Override
    public void close() {
        if (accessLog != null) {
            accessLog.close();
        }
    }
}
