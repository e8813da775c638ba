package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.OpsConfig;

/**
 * Passive outlier detection, one per shard, on its thread: consecutive 5xx responses (the upstream's, and the proxy's own
 * 502/504 for it) or consecutive connect failures to an endpoint eject it from this shard's picks for
 * {@code baseEjectionMs * 2^(ejections so far)}, capped at {@code maxEjectionMs}. An ejection that would leave more than
 * {@code maxEjectionPercent} of a backend's endpoints ejected is skipped. After an ejection ends the endpoint gets
 * traffic again; one more failure streak ejects it for twice as long. A clean stretch of {@code maxEjectionMs} after an
 * ejection forgets the back-off.
 *
 * <p>Each shard judges from its own traffic (no cross-shard state, no atomics), so on N shards an endpoint is ejected
 * everywhere after about N times the threshold of failures in total; the active health checks are the node-wide view.
 */
final class OutlierDetector {
    private final OpsConfig.Outlier config;

    OutlierDetector(OpsConfig.Outlier config) {
        this.config = config;
    }

    /** A response head (or the proxy's own error for the exchange) for an exchange on {@code p}. */
    void onStatus(ShardBackend b, UpstreamPool p, int status, long nowMs) {
        if (status >= 500) {
            p.responses5xx++;
            if (++p.consecutive5xx >= config.consecutive5xx()) {
                eject(b, p, nowMs);
            }
        } else {
            p.consecutive5xx = 0;
            p.consecutiveConnectFailures = 0;
            if (p.ejections > 0 && p.ejectedUntilMs != 0 && nowMs - p.ejectedUntilMs > config.maxEjectionMs()) {
                p.ejections = 0;
                p.ejectedUntilMs = 0;
            }
        }
    }

    /** A connect to {@code p} failed (refused, reset, timed out). */
    void onConnectFailure(ShardBackend b, UpstreamPool p, long nowMs) {
        p.connectErrors++;
        if (++p.consecutiveConnectFailures >= config.consecutiveConnectFailures()) {
            eject(b, p, nowMs);
        }
    }

    private void eject(ShardBackend b, UpstreamPool p, long nowMs) {
        if (!config.enabled() || p.ejectedUntilMs > nowMs) {
            return;
        }
        p.consecutive5xx = 0;
        p.consecutiveConnectFailures = 0;
        if (b != null) {
            int n = b.endpoints.length;
            int ejected = 0;
            for (ShardEndpoint e : b.endpoints) {
                if (e.pool.ejectedUntilMs > nowMs) {
                    ejected++;
                }
            }
            if ((ejected + 1) * 100 > config.maxEjectionPercent() * n) {
                return;
            }
        }
        long duration = Math.min((long) config.baseEjectionMs() << Math.min(p.ejections, 20), config.maxEjectionMs());
        p.ejectedUntilMs = nowMs + duration;
        p.ejections++;
        p.ejectionsTotal++;
        p.lastEjectionEpochMillis = System.currentTimeMillis();
    }
}
