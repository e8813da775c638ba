package io.sluice.dataplane.config;

import java.util.Map;

/**
 * The operating settings of a data plane (issue 8): admin port, draining, access log, active health checks, passive
 * outlier detection, retry budget and per-backend policies (health check and circuit-breaking limits by backend name).
 * Fixed for the life of the process, like the rest of {@link DataPlaneConfig}.
 *
 * <p>YAML keys (all optional, strict like the rest of the config):
 * <pre>
 * admin:     {address: 127.0.0.1, port: 10254}        # or {enabled: false}
 * shutdown:  {drainSeconds: 25}
 * accessLog: {path: off, format: json, sample: 1.0}   # path: a file, stdout or off
 * health:    {type: none, path: /, expectedStatus: "200-399", intervalMs: 5000, jitterMs: 1000, timeoutMs: 1000,
 *             healthyThreshold: 2, unhealthyThreshold: 3}     # type: none | tcp | http | grpc
 * outlier:   {consecutive5xx: 5, consecutiveConnectFailures: 5, baseEjectionMs: 30000, maxEjectionMs: 300000,
 *             maxEjectionPercent: 50}                  # or {enabled: false}
 * retry:     {budgetPercent: 20, minRetriesPerSecond: 10}
 * backends[i].healthCheck / backends[i].limits, or backendPolicies: {NAME: {healthCheck: .., limits: ..}}
 * </pre>
 */
public record OpsConfig(Admin admin, Shutdown shutdown, AccessLog accessLog, Health health, Outlier outlier,
                        Retry retry, Map<String, BackendPolicy> backendPolicies) {

    public static final OpsConfig DEFAULT = new OpsConfig(Admin.DEFAULT, Shutdown.DEFAULT, AccessLog.OFF,
        Health.DEFAULT, Outlier.DEFAULT, Retry.DEFAULT, Map.of());

    public OpsConfig {
        backendPolicies = Map.copyOf(backendPolicies);
    }

    /** The policy of a backend by name: its own settings, else the node's health defaults and no extra limits. */
    public BackendPolicy policyFor(String backendName) {
        BackendPolicy p = backendPolicies.get(backendName);
        return p != null ? p : new BackendPolicy(health, Limits.NONE);
    }

    public OpsConfig withoutAccessLog() {
        return new OpsConfig(admin, shutdown, AccessLog.OFF, health, outlier, retry, backendPolicies);
    }

    public OpsConfig withAdmin(Admin a) {
        return new OpsConfig(a, shutdown, accessLog, health, outlier, retry, backendPolicies);
    }

    public record Admin(boolean enabled, String address, int port) {
        public static final Admin DEFAULT = new Admin(true, "127.0.0.1", 10254);
        public static final Admin DISABLED = new Admin(false, "127.0.0.1", 10254);
    }

    public record Shutdown(int drainSeconds) {
        public static final Shutdown DEFAULT = new Shutdown(25);
    }

    public enum LogFormat { JSON, COMBINED }

    /** @param path a file, {@code stdout}, or null for off */
    public record AccessLog(String path, LogFormat format, double sample) {
        public static final AccessLog OFF = new AccessLog(null, LogFormat.JSON, 1.0);

        public boolean enabled() {
            return path != null && sample > 0;
        }
    }

    public enum CheckType { NONE, TCP, HTTP, GRPC }

    public record Health(CheckType type, String path, int expectedMin, int expectedMax, int intervalMs, int jitterMs,
                         int timeoutMs, int healthyThreshold, int unhealthyThreshold) {
        public static final Health DEFAULT = new Health(CheckType.NONE, "/", 200, 399, 5_000, 1_000, 1_000, 2, 3);

        public boolean enabled() {
            return type != CheckType.NONE;
        }
    }

    public record Outlier(boolean enabled, int consecutive5xx, int consecutiveConnectFailures, int baseEjectionMs,
                          int maxEjectionMs, int maxEjectionPercent) {
        public static final Outlier DEFAULT = new Outlier(true, 5, 5, 30_000, 300_000, 50);
    }

    /** Retries (idempotent requests, connect failures) may be at most this share of requests, or the minimum. */
    public record Retry(int budgetPercent, int minRetriesPerSecond) {
        public static final Retry DEFAULT = new Retry(20, 10);
    }

    /**
     * Circuit breaking, per shard and per endpoint for connections and pending requests (as {@code upstream:}),
     * per shard and per backend for requests in flight. 0 means: the node-wide {@code upstream:} value / no limit.
     */
    public record Limits(int maxConnections, int maxPending, int maxRequests) {
        public static final Limits NONE = new Limits(0, 0, 0);
    }

    public record BackendPolicy(Health health, Limits limits) {
    }
}
