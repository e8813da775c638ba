package io.sluice.dataplane.proxy;

import io.netty.channel.epoll.Epoll;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.steering.SteeringPlan;
import io.sluice.routetable.RouteTable;

import java.util.ArrayList;
import java.util.List;

/**
 * The running data plane: one {@link Shard} per CPU. Route tables are compiled here, once, on the caller's thread,
 * then handed to every shard through its command ring.
 */
public final class DataPlane implements AutoCloseable {
    private final DataPlaneConfig config;
    private final List<Shard> shards = new ArrayList<>();
    private volatile CompiledTable current;
    private SteeringPlan steering;

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
        CompiledTable table = new CompiledTable(config.routes(), null, null, config.l4().maglevTableSize());
        dp.current = table;
        try {
            for (int i = 0; i < cpus.length; i++) {
                Shard s = new Shard(i, cpus[i], config, steering);
                dp.shards.add(s);
                s.start(table);
            }
            steering.engage(dp.shards); // after every shard listens: the reuseport group's order is bind order
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
        CompiledTable t = new CompiledTable(table, endpointsOnly ? current.router : null, current,
            config.l4().maglevTableSize());
        current = t;
        for (Shard s : shards) {
            s.publish(t);
        }
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

    /** Stops accepting, lets open connections finish for up to {@code drainMillis}, then stops the shards. */
    public void shutdown(long drainMillis) {
        if (steering != null) {
            steering.stopAccepting();
        }
        for (Shard s : shards) {
            s.closeListeners();
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
        for (Shard s : shards) {
            s.shutdown();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
