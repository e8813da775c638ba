package io.sluice.dataplane.config;

import io.sluice.dataplane.steering.SteeringMode;
import io.sluice.routetable.RouteTable;

import java.util.List;

/**
 * Everything the data plane is started with. Route rules travel separately as a {@link RouteTable} so that they can be
 * replaced at run time; the rest is fixed for the life of the process.
 *
 * @param listeners        ports to accept HTTP on (each shard binds its own SO_REUSEPORT socket per listener)
 * @param cpus             CPUs to run one shard each on; null means every online CPU
 * @param idle             what an idle shard does
 * @param timeouts         upstream connect, upstream read (time to first byte and between bytes), client idle
 * @param limits           request limits
 * @param upstream         per-shard, per-endpoint connection pool limits
 * @param trustForwarded   append to a client's X-Forwarded-For instead of replacing it (only behind a trusted LB)
 * @param routes           the initial route table
 * @param routesFile       shared-memory route table to follow (written by the agent), or null
 * @param coreMap          nic-tuning's core map (shard CPUs, NIC queues, RSS key): a file, {@code "none"}, or null for
 *                         the default path ({@code /etc/sluice/coremap.json}) when that file exists
 * @param steering         how connections reach the shard on their receiving CPU (see {@link SteeringMode})
 * @param tls              the node's TLS policy and file certificates ({@link TlsSettings#DEFAULT} when not configured)
 * @param ops              admin port, draining, access log, health checks, outlier detection, retries (issue 8)
 * @param l4               L4 (TCP/UDP) load-balancing settings (the {@code l4:} section); added last, the older
 *                         constructors mean {@link L4Settings#DEFAULT}
 */
public record DataPlaneConfig(
    List<Listener> listeners,
    int[] cpus,
    IdleMode idle,
    Timeouts timeouts,
    Limits limits,
    Upstream upstream,
    boolean trustForwarded,
    RouteTable routes,
    String routesFile,
    String coreMap,
    SteeringMode steering,
    TlsSettings tls,
    OpsConfig ops,
    L4Settings l4) {

    public DataPlaneConfig {
        if (steering == null) {
            steering = SteeringMode.AUTO;
        }
        if (tls == null) {
            tls = TlsSettings.DEFAULT;
        }
        if (ops == null) {
            ops = OpsConfig.DEFAULT;
        }
        if (l4 == null) {
            l4 = L4Settings.DEFAULT;
        }
    }

    /** Without TLS, operating or L4 settings: their DEFAULTs. */
    public DataPlaneConfig(List<Listener> listeners, int[] cpus, IdleMode idle, Timeouts timeouts, Limits limits,
                           Upstream upstream, boolean trustForwarded, RouteTable routes, String routesFile,
                           String coreMap, SteeringMode steering) {
        this(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes, routesFile, coreMap, steering,
            TlsSettings.DEFAULT, OpsConfig.DEFAULT, L4Settings.DEFAULT);
    }

    public DataPlaneConfig withL4(L4Settings settings) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, steering, tls, ops, settings);
    }

    /** Without steering settings: the default core map (if present) and {@link SteeringMode#AUTO}. */
    public DataPlaneConfig(List<Listener> listeners, int[] cpus, IdleMode idle, Timeouts timeouts, Limits limits,
                           Upstream upstream, boolean trustForwarded, RouteTable routes, String routesFile) {
        this(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes, routesFile, null,
            SteeringMode.AUTO);
    }

    /**
     * @param tls           terminate TLS on this listener (certificates chosen by SNI; see {@link TlsSettings})
     * @param proxyProtocol connections start with a PROXY protocol v1 or v2 header (from an L4 load balancer in front);
     *                      its source address becomes the client address. Connections without one are refused
     */
    public record Listener(String address, int port, boolean tls, boolean proxyProtocol) {
        public Listener(String address, int port) {
            this(address, port, false, false);
        }
    }

    public record Timeouts(int connectMs, int readMs, int idleMs) {
        public static final Timeouts DEFAULT = new Timeouts(2_000, 60_000, 60_000);
    }

    public record Limits(int maxRequestLineBytes, int maxHeaderBytes, int maxHeaderCount, long maxBodyBytes) {
        public static final Limits DEFAULT = new Limits(8_192, 32_768, 100, 100L * 1024 * 1024);
    }

    public record Upstream(int maxConnectionsPerEndpoint, int maxIdlePerEndpoint, int maxPendingPerEndpoint) {
        public static final Upstream DEFAULT = new Upstream(1_024, 128, 1_024);
    }

    public DataPlaneConfig withCpus(int[] newCpus) {
        return new DataPlaneConfig(listeners, newCpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, steering, tls, ops, l4);
    }

    public DataPlaneConfig withRoutes(RouteTable table) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, table,
            routesFile, coreMap, steering, tls, ops, l4);
    }

    public DataPlaneConfig withListeners(List<Listener> l) {
        return new DataPlaneConfig(l, cpus, idle, timeouts, limits, upstream, trustForwarded, routes, routesFile,
            coreMap, steering, tls, ops, l4);
    }

    public DataPlaneConfig withIdle(IdleMode newIdle) {
        return new DataPlaneConfig(listeners, cpus, newIdle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, steering, tls, ops, l4);
    }

    /** @param file a core map file, {@code "none"}, or null for the default path if it exists */
    public DataPlaneConfig withCoreMap(String file) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, file, steering, tls, ops, l4);
    }

    public DataPlaneConfig withTls(TlsSettings settings) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, steering, settings, ops, l4);
    }

    public DataPlaneConfig withSteering(SteeringMode mode) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, mode, tls, ops, l4);
    }

    public DataPlaneConfig withOps(OpsConfig newOps) {
        return new DataPlaneConfig(listeners, cpus, idle, timeouts, limits, upstream, trustForwarded, routes,
            routesFile, coreMap, steering, tls, newOps, l4);
    }
}
