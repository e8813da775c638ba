package io.sluice.dataplane.ops;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import io.sluice.dataplane.config.OpsConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * The access log, written off the request path.
 *
 * <p>One Disruptor ring per shard (single producer: the shard; no CAS between shards), of preallocated
 * {@link AccessLogRecord}s. A shard that finishes a sampled exchange claims a slot with {@code tryNext}, copies the
 * record's bytes into it and publishes; when the ring is full (the writer is behind: slow disk) the record is dropped
 * and counted ({@link Ring#dropped}), the shard never waits. One thread, {@code sluice-accesslog}, polls every ring,
 * formats each record (JSON lines or an nginx-combined-like line) into a buffer and writes it with a
 * {@link FileChannel} (or stdout), once per pass over the rings.
 */
public final class AccessLog implements AutoCloseable {
    public static final int RING_SIZE = 4096;
    static final long PERIOD_NANOS = 1_000_000L;

    private final OpsConfig.AccessLog config;
    private final Ring[] rings;
    private final WritableByteChannel out;
    private final Thread writer;
    private volatile boolean running = true;
    private volatile long written;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
    private final AccessLogFormatter formatter;

    /** A shard's producer side. Shard-confined except {@link #dropped}, which the collector reads racily. */
    public static final class Ring {
        final RingBuffer<AccessLogRecord> ring;
        final EventPoller<AccessLogRecord> poller;
        /** Sampling threshold on a 53-bit random draw; {@code >= 2^53} means every request. */
        private final long threshold;
        private long rnd;
        public long dropped;
        public long published;

        Ring(int shard, double sample) {
            ring = RingBuffer.createSingleProducer(AccessLogRecord::new, RING_SIZE);
            poller = ring.newPoller();
            ring.addGatingSequences(poller.getSequence());
            threshold = sample >= 1.0 ? Long.MAX_VALUE : (long) (sample * (1L << 53));
            rnd = 0x9E3779B97F4A7C15L * (shard + 1) | 1;
        }

        /** Shard thread: whether this request is logged. */
        public boolean sample() {
            if (threshold == Long.MAX_VALUE) {
                return true;
            }
            long x = rnd;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rnd = x;
            return (x >>> 11) < threshold;
        }

        /**
         * Shard thread: copies {@code scratch} (head bytes captured at the start of the exchange) and the outcome into
         * a slot; drops the record if the ring is full.
         */
        public void publish(AccessLogRecord scratch, int shard, int status, long requestBytes, long responseBytes,
                            long totalNanos, long upstreamNanos, String upstream, String service) {
            long seq;
            try {
                seq = ring.tryNext();
            } catch (InsufficientCapacityException e) { // a preallocated singleton: no allocation
                dropped++;
                return;
            }
            AccessLogRecord r = ring.get(seq);
            r.copyFrom(scratch);
            r.epochMillis = System.currentTimeMillis();
            r.shard = shard;
            r.status = status;
            r.requestBytes = requestBytes;
            r.responseBytes = responseBytes;
            r.totalNanos = totalNanos;
            r.upstreamNanos = upstreamNanos;
            r.upstream = upstream;
            r.service = service;
            ring.publish(seq);
            published++;
        }
    }

    private AccessLog(OpsConfig.AccessLog config, int shards) {
        this.config = config;
        this.formatter = new AccessLogFormatter(config.format());
        this.rings = new Ring[shards];
        for (int i = 0; i < shards; i++) {
            rings[i] = new Ring(i, config.sample());
        }
        try {
            out = config.path().equals("stdout") ? Channels.newChannel(System.out)
                : FileChannel.open(Path.of(config.path()), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new io.sluice.dataplane.config.ConfigLoader.ConfigException("accessLog.path: cannot open "
                + config.path() + ": " + e.getMessage());
        }
        writer = new Thread(this::run, "sluice-accesslog");
        writer.setDaemon(true);
    }

    /** Null when the access log is off. */
    public static AccessLog open(OpsConfig.AccessLog config, int shards) {
        if (!config.enabled()) {
            return null;
        }
        AccessLog log = new AccessLog(config, shards);
        log.writer.start();
        return log;
    }

    public Ring ring(int shard) {
        return rings[shard];
    }

    public long written() {
        return written;
    }

    public long dropped() {
        long d = 0;
        for (Ring r : rings) {
            d += r.dropped;
        }
        return d;
    }

    private final EventPoller.Handler<AccessLogRecord> handler = (r, seq, end) -> {
        format(r);
        return true;
    };

    /**
     * Drains every ring, writes, then sleeps {@link #PERIOD_NANOS} whatever it found: the writer wakes about a thousand
     * times a second and handles whole batches, instead of spinning on a ring that fills one record at a time (which
     * on a shared core would take CPU from the shard). 1 ms holds {@link #RING_SIZE} records per shard at most.
     */
    private void run() {
        while (running || pending()) {
            for (Ring r : rings) {
                try {
                    r.poller.poll(handler);
                } catch (Exception e) {
                    System.err.println("sluice: access log: " + e);
                }
            }
            flush();
            LockSupport.parkNanos(PERIOD_NANOS);
        }
        flush();
    }

    private boolean pending() {
        for (Ring r : rings) {
            if (r.poller.getSequence().get() < r.ring.getCursor()) {
                return true;
            }
        }
        return false;
    }

    private void format(AccessLogRecord r) {
        if (buf.remaining() < AccessLogFormatter.MAX_RECORD) {
            flush();
        }
        formatter.format(r, buf);
        written++;
    }

    private void flush() {
        if (buf.position() == 0) {
            return;
        }
        buf.flip();
        try {
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        } catch (IOException e) {
            System.err.println("sluice: access log write failed: " + e.getMessage());
        }
        buf.clear();
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!config.path().equals("stdout")) {
            try {
                out.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** For the status page and tests. */
    public String describe() {
        return config.path() + " (" + config.format().name().toLowerCase(Locale.ROOT) + ", sample " + config.sample()
            + ")";
    }

}
