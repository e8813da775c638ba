package io.sluice.dataplane.proxy;

import io.netty.channel.epoll.Epoll;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.config.TlsSettings;
import io.sluice.dataplane.ops.HealthChecker;
import io.sluice.dataplane.ops.NodeOps;
import io.sluice.dataplane.steering.SteeringPlan;
import io.sluice.dataplane.tls.TicketKeys;
import io.sluice.dataplane.tls.TlsEnv;
import io.sluice.routetable.RouteTable;

import java.util.ArrayList;
import java.util.List;

/**
 * The running data plane: one {@link Shard} per CPU. Route tables are compiled here, once, on the caller's thread,
 * then handed to every shard through its command ring.
 */
public final class DataPlane implements AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(DataPlane.class.getName());
    private final DataPlaneConfig config;
    private final List<Shard> shards = new ArrayList<>();
    private volatile CompiledTable current;
    private SteeringPlan steering;
    /** TLS settings and ticket keys; null without TLS listeners. */
    private TlsEnv tlsEnv;
    /** Offer h2 in ALPN: a handshake that selects it hands the connection to the HTTP/2 server side (issue 5). */
    static final boolean HTTP2_ALPN = true;
    private NodeOps ops;
    private HealthChecker healthChecker;

    private DataPlane(DataPlaneConfig config) {
        this.config = config;
    }

    public static DataPlane start(DataPlaneConfig config) throws InterruptedException {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("the data plane needs Linux epoll: " + Epoll.unavailabilityCause());
        }
        SteeringPlan steering = SteeringPlan.resolve(config); // core map → CPUs; steering mode (issue 7)
        int[] cpus = steering.cpus();
        DataPlane dp = new DataPlane(config);
        dp.steering = steering;
        if (config.listeners().stream().anyMatch(DataPlaneConfig.Listener::tls)) {
            TlsSettings ts = config.tls();
            dp.tlsEnv = new TlsEnv(ts, new TicketKeys(ts.ticketKeyFile(), ts.ticketRotationSeconds()), HTTP2_ALPN);
        }
        CompiledTable table = new CompiledTable(config.routes(), null, null, dp.tlsEnv,
            config.l4().maglevTableSize());
        dp.reportTls(table);
        dp.current = table;
        try {
            dp.ops = new NodeOps(config.ops(), cpus.length);
            for (int i = 0; i < cpus.length; i++) {
                Shard s = new Shard(i, cpus[i], config, steering, dp.ops);
                dp.shards.add(s);
                s.start(table);
            }
            steering.engage(dp.shards); // after every shard listens: the reuseport group's order is bind order
            dp.healthChecker = HealthChecker.start(dp); // null when no backend has active checks
        } catch (RuntimeException | InterruptedException e) {
            dp.close();
            throw e;
        }
        return dp;
    }

    /** Compiles and publishes a new table to every shard. Returns at once; shards switch on their own threads. */
    public void update(RouteTable table) {
        update(table, false);
    }

    /**
     * As {@link #update(RouteTable)}; {@code endpointsOnly} says the hosts and rules are those of the current table
     * (only endpoints changed, the most frequent change), so the compiled router is reused instead of rebuilt.
     */
    public synchronized void update(RouteTable table, boolean endpointsOnly) {
        if (table.generation() <= current.generation()) {
            throw new IllegalArgumentException("generation " + table.generation() + " is not newer than "
                + current.generation());
        }
        CompiledTable t = new CompiledTable(table, endpointsOnly ? current.router : null, current, tlsEnv,
            config.l4().maglevTableSize());
        if (t.tls != current.tls) {
            reportTls(t);
            io.sluice.dataplane.tls.TlsContexts old = current.tls;
            io.sluice.dataplane.tls.TlsContexts next = t.tls;
            if (old != null) {
                tlsEnv.keys().later(() -> old.retire(next), 30);
            }
        }
        current = t;
        for (Shard s : shards) {
            s.publish(t);
        }
    }

    /** Certificates that could not be used are logged with their name and reason; the others keep serving. */
    private void reportTls(CompiledTable t) {
        if (t.tls != null) {
            for (String p : t.tls.problems()) {
                LOG.warning("TLS: " + p);
            }
        }
    }

    /** The node's ticket keys, or null without TLS listeners. */
    public TicketKeys ticketKeys() {
        return tlsEnv == null ? null : tlsEnv.keys();
    }

    public CompiledTable current() {
        return current;
    }

    public List<Shard> shards() {
        return List.copyOf(shards);
    }

    public DataPlaneConfig config() {
        return config;
    }

    /** How connections reach their shards (mode, core map), decided at start. */
    public SteeringPlan steering() {
        return steering;
    }

    /** Share of accepted connections served on the CPU that received them (SO_INCOMING_CPU); NaN before any. */
    public double localityShare() {
        return SteeringPlan.localityShare(shards);
    }

    /** Sum of a counter over shards, e.g. {@code dp.sum(s -> s.stats.requests)}. */
    public long sum(java.util.function.ToLongFunction<Shard> f) {
        long t = 0;
        for (Shard s : shards) {
            t += f.applyAsLong(s);
        }
        return t;
    }

    /** Node-level operations state: health registry, access log, draining flag. */
    public NodeOps ops() {
        return ops;
    }

    /** The active health checker, or null when no backend is checked. */
    public HealthChecker healthChecker() {
        return healthChecker;
    }

    /**
     * Ready to serve: every shard has installed a table of at least {@code generation}, and the node is not draining.
     */
    public boolean ready(long generation) {
        if (ops == null || ops.draining() || shards.isEmpty()) {
            return false;
        }
        for (Shard s : shards) {
            if (s.installedGeneration() < generation) {
                return false;
            }
        }
        return true;
    }

    /**
     * Starts draining (idempotent): readiness turns false, listeners close, and every shard answers its remaining
     * requests with {@code Connection: close} (idle keep-alive connections close at once).
     */
    public void drain() {
        stopAccepting();
        for (Shard s : shards) {
            s.publishDrain();
        }
    }

    private void stopAccepting() {
        if (ops != null) {
            ops.startDraining();
        }
        if (steering != null) {
            steering.stopAccepting();
        }
        for (Shard s : shards) {
            s.closeListeners(); // draining shards also send GOAWAY to their HTTP/2 clients (Shard.drain)
        }
    }

    /** Stops accepting, lets open connections finish for up to {@code drainMillis}, then stops the shards. */
    public void shutdown(long drainMillis) {
        if (drainMillis > 0) {
            drain();
        } else {
            stopAccepting();
        }
        long until = System.currentTimeMillis() + drainMillis;
        while (System.currentTimeMillis() < until
            && sum(Shard::liveConnections) + sum(s -> s.l4().liveConnections()) > 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (healthChecker != null) {
            healthChecker.close();
        }
        for (Shard s : shards) {
            s.shutdown();
        }
        if (tlsEnv != null) {
            tlsEnv.keys().close();
            if (current.tls != null) {
                current.tls.retire(null);
            }
        }
        if (ops != null) {
            ops.close();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
