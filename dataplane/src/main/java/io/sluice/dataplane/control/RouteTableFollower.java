package io.sluice.dataplane.control;

import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileReader;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * Follows the agent's shared-memory route file and hands every new table to the shards.
 *
 * <p>One thread ({@code sluice-routes}), off the shards: it polls the file header (one acquire load when nothing
 * changed) every {@link #POLL_NANOS}, and on a new generation decodes it, compiles it once (reusing the compiled
 * router when only endpoints changed) and publishes it through each shard's command ring. A table that fails its
 * checksum is rejected by the reader, counted and logged; the last good table keeps serving. If the agent dies, the
 * file and the last table stay: the data plane keeps serving it.
 */
public final class RouteTableFollower implements AutoCloseable {
    /** Poll period: a new generation reaches the shards within about this much plus the swap itself. */
    static final long POLL_NANOS = 200_000;

    private final DataPlane dataPlane;
    private final RouteTableFileReader reader;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long applied;
    private volatile long lastAppliedGeneration = -1;
    private volatile long firstAppliedGeneration = -1;
    /** Published for the metrics collector: the agent's last heartbeat (from the file header) and rejections. */
    private volatile long writerHeartbeatMillis;
    private volatile long rejectedTables;
    private long reportedRejections;

    private RouteTableFollower(DataPlane dataPlane, Path file) {
        this.dataPlane = dataPlane;
        this.reader = RouteTableFileReader.open(file);
        this.thread = new Thread(this::run, "sluice-routes");
        this.thread.setDaemon(true);
    }

    public static RouteTableFollower start(DataPlane dataPlane, Path file) {
        RouteTableFollower f = new RouteTableFollower(dataPlane, file);
        f.thread.start();
        return f;
    }

    private void run() {
        while (running) {
            RouteTable t;
            try {
                t = reader.poll();
            } catch (RuntimeException e) {
                System.err.println("sluice: route file " + reader.path() + ": " + e.getMessage());
                t = null;
                LockSupport.parkNanos(100_000_000L);
            }
            if (reader.rejectedCount() != reportedRejections) {
                reportedRejections = reader.rejectedCount();
                rejectedTables = reportedRejections;
                System.err.println("sluice: rejected a route table from " + reader.path() + " ("
                    + reader.lastRejection().getMessage() + "); still serving generation "
                    + dataPlane.current().generation());
            }
            if (t == null) {
                writerHeartbeatMillis = reader.writerHeartbeatEpochMillis(); // one acquire load of the header
                LockSupport.parkNanos(POLL_NANOS);
                continue;
            }
            long current = dataPlane.current().generation();
            // A restarted agent counts from 1 again on a new file: keep the data plane's generations increasing.
            RouteTable next = t.generation() > current ? t : t.withGeneration(current + 1);
            dataPlane.update(next, reader.lastPollEndpointsOnly());
            if (firstAppliedGeneration < 0) {
                firstAppliedGeneration = next.generation();
            }
            applied++;
            lastAppliedGeneration = next.generation();
        }
    }

    /** Tables applied since start. */
    public long applied() {
        return applied;
    }

    /** The agent's last heartbeat written into the file header (epoch ms), 0 when not attached. Any thread. */
    public long writerHeartbeatMillis() {
        return writerHeartbeatMillis;
    }

    /** Tables the reader refused, as last published by the follower thread. Any thread. */
    public long rejectedTables() {
        return rejectedTables;
    }

    /** The first table applied from the file (readiness waits for it), -1 before. */
    public long firstAppliedGeneration() {
        return firstAppliedGeneration;
    }

    public long lastAppliedGeneration() {
        return lastAppliedGeneration;
    }

    /** Tables the reader refused (checksum, decoding): they never reached a shard. */
    public long rejected() {
        return reader.rejectedCount();
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reader.close();
    }
}
