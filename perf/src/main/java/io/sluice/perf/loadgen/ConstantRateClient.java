package io.sluice.perf.loadgen;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Sends requests on a fixed schedule and measures each one from the time it <em>should</em> have been sent.
 *
 * <h2>Schedule</h2>
 * Request {@code i} of the run is due at {@code start + i / rate} and belongs to connection {@code i mod N},
 * so each connection carries {@code rate / N} requests per second, staggered against the others. A
 * connection has at most one request outstanding (HTTP/1.1 keep-alive without pipelining). When a
 * response is late, the requests that fall due meanwhile on that connection wait, and each is sent as soon
 * as the connection is free; its latency still counts from its own due time. This is what makes the
 * measurement free of coordinated omission: a stall of the server shows up in every request it delayed,
 * not only in the one that was outstanding.
 *
 * <h2>Threading</h2>
 * Everything runs on one Netty event loop (epoll when available) and therefore on one thread: the pacer
 * (a timer that fires at the next due time and sends what is due), response framing, recording into the
 * histograms and the timeout sweep. No state is shared, nothing is locked. The caller's thread only waits
 * for the end and reads the result, after a happens-before edge through the {@link CountDownLatch}.
 *
 * <h2>Cost</h2>
 * Per request: one write of a shared read-only request buffer ({@code duplicate()} only), one read,
 * a byte-level framer without allocation, two histogram records, and a timer task. The generator also
 * measures its own lateness ({@code send lag}: from when a request could have left, being due on a free
 * connection, to when it did), so a run in which the generator itself could not keep up is visible rather
 * than silently blamed on the server.
 */
final class ConstantRateClient {

    private static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(2);
    private static final long RECONNECT_AFTER_ERROR_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long RETRY_CONNECT_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int WARMUP = 0;
    private static final int MEASURED = 1;

    private final LoadOptions options;
    private final double periodNanos;
    private final int n;
    private final ByteBuf request;
    // Index WARMUP or MEASURED, see phase(). Warm-up values are recorded too, and thrown away, so that the
    // code JIT-compiled during warm-up is exactly the code that runs while measuring.
    private final Histogram[] latency = {
        new Histogram(HIGHEST_TRACKABLE_NANOS, 3), new Histogram(HIGHEST_TRACKABLE_NANOS, 3)};
    private final Histogram[] sendLag = {
        new Histogram(HIGHEST_TRACKABLE_NANOS, 3), new Histogram(HIGHEST_TRACKABLE_NANOS, 3)};
    private final long[] ok = new long[2];
    private final long[] non2xx = new long[2];
    private final CountDownLatch done = new CountDownLatch(1);
    private final Connection[] connections;

    // Event-loop state.
    private Bootstrap bootstrap;
    private EventLoop loop;
    private long startNanos;
    private long measureStartNanos;
    private long endNanos;
    private long cursor;
    private boolean finished;
    private final Runnable paceTask = this::pace;
    private long socketErrors;
    private long timeouts;
    private long unsent;
    private long lastResponseNanos;
    private String transport = "?";
    private String timerSlack = "default";
    private volatile LoadResult result; // written once on the event loop, read after the latch

    ConstantRateClient(LoadOptions options) {
        this.options = options;
        this.periodNanos = 1e9 / options.ratePerSecond();
        this.n = options.connections();
        byte[] head = ("GET " + options.path() + " HTTP/1.1\r\nHost: " + options.hostHeader()
            + "\r\nUser-Agent: sluice-loadgen\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        this.request = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(head.length).writeBytes(head).asReadOnly());
        this.connections = new Connection[n];
        for (int i = 0; i < n; i++) {
            connections[i] = new Connection(i);
        }
    }

    /** Runs warm-up and measurement, then returns what was measured. Blocks the calling thread. */
    LoadResult run() throws Exception {
        InetAddress address = options.resolve();
        IoHandlerFactory io;
        Class<? extends SocketChannel> channelClass;
        if (Epoll.isAvailable()) {
            io = EpollIoHandler.newFactory();
            channelClass = EpollSocketChannel.class;
            transport = "epoll";
        } else {
            io = NioIoHandler.newFactory();
            channelClass = NioSocketChannel.class;
            transport = "nio";
        }
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
        try {
            loop = group.next();
            bootstrap = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .remoteAddress(new InetSocketAddress(address, options.port()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                    (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(options.timeoutNanos())));

            timerSlack = loop.submit(TimerSlack::minimise).get() ? "1ns" : "default";

            // Open every connection before the clock starts, so the schedule does not absorb connect time.
            CountDownLatch connected = new CountDownLatch(n);
            loop.execute(() -> {
                for (Connection c : connections) {
                    c.connect(connected);
                }
            });
            if (!connected.await(Math.max(5, TimeUnit.NANOSECONDS.toSeconds(options.timeoutNanos()) * 2),
                    TimeUnit.SECONDS)) {
                throw new IllegalStateException("connections still not established after the connect timeout");
            }
            int up = loop.submit(this::openConnections).get();
            if (up == 0) {
                throw new IllegalStateException("could not connect to " + options.host() + ":" + options.port());
            }

            loop.execute(this::start);
            long budget = options.warmupNanos() + options.durationNanos() + 2 * options.timeoutNanos()
                + TimeUnit.SECONDS.toNanos(10);
            if (!done.await(budget, TimeUnit.NANOSECONDS)) {
                throw new IllegalStateException("run did not finish in time");
            }
            return result;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private int openConnections() {
        int up = 0;
        for (Connection c : connections) {
            if (c.channel != null && c.channel.isActive()) {
                up++;
            }
        }
        return up;
    }

    private void start() {
        startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
        measureStartNanos = startNanos + options.warmupNanos();
        endNanos = measureStartNanos + options.durationNanos();
        cursor = 0;
        loop.schedule(paceTask, startNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        long sweep = Math.max(TimeUnit.MILLISECONDS.toNanos(5), Math.min(options.timeoutNanos() / 4,
            TimeUnit.MILLISECONDS.toNanos(50)));
        loop.scheduleAtFixedRate(this::sweepTimeouts, sweep, sweep, TimeUnit.NANOSECONDS);
    }

    /** Due time of request {@code seq} of connection {@code conn}. */
    private long dueNanos(long seq, int conn) {
        return startNanos + Math.round((seq * n + conn) * periodNanos);
    }

    private long dueNanos(long globalIndex) {
        return startNanos + Math.round(globalIndex * periodNanos);
    }

    /** The pacer: send what is due, then sleep until the next due time. */
    private void pace() {
        if (finished) {
            return;
        }
        long now = System.nanoTime();
        long due;
        while ((due = dueNanos(cursor)) <= now && due < endNanos) {
            connections[(int) (cursor % n)].sendIfDue(now);
            cursor++;
        }
        if (due < endNanos) {
            loop.schedule(paceTask, due - now, TimeUnit.NANOSECONDS);
        } else {
            // Nothing more to send: wait for the last responses, at most one timeout.
            loop.schedule(this::drain, 1, TimeUnit.MILLISECONDS);
        }
    }

    private void drain() {
        if (finished) {
            return;
        }
        long now = System.nanoTime();
        boolean waiting = false;
        for (Connection c : connections) {
            waiting |= c.inFlight && c.intendedNanos < endNanos;
        }
        if (waiting && now - endNanos < options.timeoutNanos()) {
            loop.schedule(this::drain, 1, TimeUnit.MILLISECONDS);
            return;
        }
        finish();
    }

    private void finish() {
        finished = true;
        for (Connection c : connections) {
            if (c.inFlight && c.intendedNanos >= measureStartNanos && c.intendedNanos < endNanos) {
                timeouts++;
            }
            unsent += c.unsentInWindow();
            if (c.channel != null) {
                c.channel.close();
            }
        }
        // Snapshot here, on the loop: nothing is recorded after 'finished', and the histograms are copied
        // by the thread that wrote them.
        result = result();
        done.countDown();
    }

    private void sweepTimeouts() {
        if (finished) {
            return;
        }
        long now = System.nanoTime();
        for (Connection c : connections) {
            if (c.inFlight && now - c.sentNanos > options.timeoutNanos()) {
                if (measured(c.intendedNanos)) {
                    timeouts++;
                }
                c.inFlight = false;
                c.abandon(0);
            }
        }
    }

    private boolean measured(long intended) {
        return intended >= measureStartNanos && intended < endNanos;
    }

    /**
     * {@link #MEASURED} for a request due at or after the start of the measured window, else {@link #WARMUP}.
     * Computed without a branch: a branch never taken during warm-up would be compiled as an uncommon trap
     * and deoptimise the hot path just as measuring starts (seen as a 10 ms stall before this was done).
     * Nothing is sent after the window, so the upper bound needs no test.
     */
    private int phase(long intended) {
        return (int) ((measureStartNanos - 1 - intended) >>> 63);
    }

    private LoadResult result() {
        // Responses to the window's requests that came after its end stretch it: an overloaded server's
        // achieved rate is what it served per second of the time it took, not of the window.
        double seconds = Math.max(options.durationNanos(), lastResponseNanos - measureStartNanos) / 1e9;
        return new LoadResult(options.ratePerSecond(), options.connections(), seconds,
            transport + ", timer slack " + timerSlack,
            latency[MEASURED].copy(), sendLag[MEASURED].copy(), ok[MEASURED], non2xx[MEASURED], socketErrors,
            timeouts, unsent);
    }

    /** One keep-alive connection and its share of the schedule. Touched only on the event loop. */
    private final class Connection extends ChannelInboundHandlerAdapter {
        final int index;
        final ResponseFramer framer = new ResponseFramer();
        Channel channel;
        boolean inFlight;
        long seq;            // next request of this connection to send
        long intendedNanos;  // due time of the request in flight
        long sentNanos;
        long freeSinceNanos; // when this connection could last take a request (connected, or answered)
        CountDownLatch connectedLatch;

        Connection(int index) {
            this.index = index;
        }

        void connect(CountDownLatch latch) {
            connectedLatch = latch;
            framer.reset();
            ChannelFuture f = bootstrap.clone().handler(this).connect();
            channel = f.channel();
            f.addListener((ChannelFutureListener) this::connected);
        }

        private void connected(ChannelFuture f) {
            if (connectedLatch != null) {
                connectedLatch.countDown();
                connectedLatch = null;
            }
            if (finished || f.channel() != channel) {
                return;
            }
            if (!f.isSuccess()) {
                channel = null;
                if (measuring()) {
                    socketErrors++;
                }
                reconnect(RETRY_CONNECT_NANOS);
                return;
            }
            freeSinceNanos = System.nanoTime();
            if (startNanos != 0) {
                sendIfDue(freeSinceNanos);
            }
        }

        @Override
        public boolean isSharable() {
            return true; // re-added to each new channel of this connection, one channel at a time
        }

        void sendIfDue(long now) {
            if (inFlight || finished || channel == null || !channel.isActive()) {
                return;
            }
            long due = dueNanos(seq, index);
            if (due < measureStartNanos && now >= measureStartNanos) {
                // A backlog left over from warm-up (a cold JIT, a late connect) is dropped: the measured
                // window starts on schedule. Inside the window nothing is ever skipped.
                seq = firstSeqAtOrAfter(measureStartNanos);
                due = dueNanos(seq, index);
            }
            if (due > now || due >= endNanos) {
                return;
            }
            inFlight = true;
            intendedNanos = due;
            sentNanos = now;
            seq++;
            // The generator's own lateness: from when the request could have left (due, and its connection
            // free) to when it did. Waiting for a slow response is the server's doing and not counted here.
            sendLag[phase(due)].recordValue(Math.min(now - Math.max(due, freeSinceNanos), HIGHEST_TRACKABLE_NANOS));
            channel.writeAndFlush(request.duplicate(), channel.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (finished || ctx.channel() != channel) {
                    return; // the run is over, or a channel we already gave up on
                }
                while (in.isReadable()) {
                    if (!inFlight) {
                        error(); // bytes nobody asked for: the stream is out of step
                        return;
                    }
                    int r = framer.feed(in);
                    if (r == ResponseFramer.COMPLETE) {
                        if (!responded(framer.status(), framer.closeAfter())) {
                            return;
                        }
                    } else if (r == ResponseFramer.ERROR) {
                        error();
                        return;
                    }
                }
            } finally {
                in.release();
            }
        }

        /** Records a response; false when the connection is being closed. */
        private boolean responded(int status, boolean close) {
            long now = System.nanoTime();
            inFlight = false;
            freeSinceNanos = now;
            int phase = phase(intendedNanos);
            latency[phase].recordValue(Math.min(now - intendedNanos, HIGHEST_TRACKABLE_NANOS));
            lastResponseNanos = now;
            if (status >= 200 && status < 300) {
                ok[phase]++;
            } else {
                non2xx[phase]++;
            }
            if (close) {
                abandon(0);
                return false;
            }
            sendIfDue(now);
            return true;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (finished || ctx.channel() != channel) {
                return;
            }
            if (inFlight && framer.endOfInput()) {
                responded(framer.status(), true);
                return;
            }
            if (inFlight) {
                lost();
            }
            abandon(RECONNECT_AFTER_ERROR_NANOS);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!finished && ctx.channel() == channel) {
                error();
            } else {
                ctx.close();
            }
        }

        private void error() {
            if (inFlight) {
                lost();
            } else if (measuring()) {
                socketErrors++;
            }
            abandon(RECONNECT_AFTER_ERROR_NANOS);
        }

        private void lost() {
            inFlight = false;
            if (measured(intendedNanos)) {
                socketErrors++;
            }
        }

        /** Closes the current channel and forgets it (its late events are ignored), then reconnects. */
        void abandon(long reconnectDelayNanos) {
            Channel c = channel;
            channel = null;
            if (c != null) {
                c.close();
            }
            reconnect(reconnectDelayNanos);
        }

        private boolean reconnectPending;

        private void reconnect(long delayNanos) {
            if (finished || reconnectPending || channel != null) {
                return;
            }
            reconnectPending = true;
            loop.schedule(() -> {
                reconnectPending = false;
                if (!finished && channel == null) {
                    connect(null);
                }
            }, delayNanos, TimeUnit.NANOSECONDS);
        }

        private boolean measuring() {
            long now = System.nanoTime();
            return startNanos != 0 && now >= measureStartNanos && now < endNanos;
        }

        /** This connection's first request due at or after {@code time}. */
        private long firstSeqAtOrAfter(long time) {
            long s = Math.max(0, (long) Math.floor(((time - startNanos) / periodNanos - index) / n) - 1);
            while (dueNanos(s, index) < time) {
                s++;
            }
            return s;
        }

        /** Requests of the measured window that fell due but were never sent. */
        long unsentInWindow() {
            long count = 0;
            for (long s = seq; ; s++) {
                long due = dueNanos(s, index);
                if (due >= endNanos) {
                    return count;
                }
                if (due >= measureStartNanos) {
                    count++;
                }
            }
        }
    }
}
