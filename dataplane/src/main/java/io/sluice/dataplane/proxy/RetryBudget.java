package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.OpsConfig;

/**
 * Envoy-like retry budget of one shard (its thread only): within each second, retries may be at most
 * {@code budgetPercent} of the requests this shard received in the current or the previous second, or at least this
 * shard's share of {@code minRetriesPerSecond} (divided by the number of shards, at least 1). Retries beyond it are
 * refused and counted: when a backend fails wholesale, retries must not multiply the load on what is left.
 */
final class RetryBudget {
    private final int percent;
    private final int minPerSecond;
    private long windowStartMs;
    private long windowFirstRequest;
    private long previousWindowRequests;
    private int retriesInWindow;
    long denied;

    RetryBudget(OpsConfig.Retry config, int shards) {
        this.percent = config.budgetPercent();
        this.minPerSecond = config.minRetriesPerSecond() == 0 ? 0
            : Math.max(1, config.minRetriesPerSecond() / Math.max(1, shards));
    }

    /** May this shard retry now? {@code requests} is the shard's running request count. Counts the retry if so. */
    boolean tryAcquire(long nowMs, long requests) {
        if (nowMs - windowStartMs >= 1_000) {
            previousWindowRequests = nowMs - windowStartMs < 2_000 ? requests - windowFirstRequest : 0;
            windowStartMs = nowMs;
            windowFirstRequest = requests;
            retriesInWindow = 0;
        }
        long base = Math.max(requests - windowFirstRequest, previousWindowRequests);
        long allowed = Math.max(minPerSecond, base * percent / 100);
        if (retriesInWindow < allowed) {
            retriesInWindow++;
            return true;
        }
        denied++;
        return false;
    }
}
