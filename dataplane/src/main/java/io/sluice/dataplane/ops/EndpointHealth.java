package io.sluice.dataplane.ops;

/**
 * The active health of one endpoint address, shared by every shard: the {@code sluice-health} thread writes it, shards
 * read {@link #healthy} (one volatile load, a plain load on x86) when they pick an endpoint. Endpoints nobody checks
 * stay healthy.
 */
public final class EndpointHealth {
    public final String key;
    /** Written by the health checker only. */
    volatile boolean healthy = true;
    volatile String lastResult = "not checked";
    volatile long checks;
    volatile long failures;
    volatile long transitions;
    /** Wall-clock time of the last state change (0: never). */
    volatile long lastTransitionEpochMillis;
    /** Checker-confined. */
    int consecutiveOk;
    int consecutiveFail;
    long nextDueNanos;

    public EndpointHealth(String key) {
        this.key = key;
    }

    public boolean healthy() {
        return healthy;
    }

    public String lastResult() {
        return lastResult;
    }

    public long checks() {
        return checks;
    }

    public long failures() {
        return failures;
    }

    public long lastTransitionEpochMillis() {
        return lastTransitionEpochMillis;
    }

    /** Times the state flipped (healthy to unhealthy or back). */
    public long transitions() {
        return transitions;
    }
}
