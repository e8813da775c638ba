package io.sluice.perf.loadgen;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
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
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.internal.tcnative.SSL;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;
import org.HdrHistogram.Histogram;

/**
 * TLS handshake load generator: how many handshakes per second a TLS-terminating server completes.
 *
 * <h2>What one connection slot does</h2>
 * Connect; TLS handshake (TLS 1.3 by default, 1.2 with {@code --tls12}); one small HTTP/1.1 GET with
 * {@code Connection: close}; read the response (framed by {@link ResponseFramer}, so a short or garbled
 * response is an error, not a fast success); close; and again at once. {@code N} slots run concurrently, so
 * the server always has about {@code N} handshakes in progress. This is the work of a client that opens a
 * new connection per request: the server pays for the TCP accept, the handshake, one request through to
 * its origin and the close.
 *
 * <h2>Full and resumed handshakes</h2>
 * <ul>
 *   <li><b>full</b>: the client's session cache is off and no engine has a cache key (peer port -1), so no
 *       session is ever stored or offered: every handshake is a full one (key exchange and a certificate
 *       signature by the server).</li>
 *   <li><b>resumed</b>: Netty's client cache keeps one session per (peer host, peer port). Each slot uses its
 *       own key (the peer port given to the engine is the slot's number; it only names the cache entry, the
 *       TCP port is the URL's), so a slot offers the ticket that its previous connection received: a slot's
 *       first handshake is full, the following ones are resumed if the server accepts the ticket. Sharing one
 *       entry between slots would not do: TLS 1.3 tickets are single-use in BoringSSL, and slots starting
 *       between one connection taking the ticket and the next connection receiving a new one would fall back
 *       to full handshakes.</li>
 * </ul>
 * Whether the <em>server</em> resumed is read from BoringSSL after each handshake
 * ({@code SSL_session_reused}); the share is reported, and a resumed run below the minimum share
 * ({@code --min-resumed}, 90%) is flagged loudly, because its rate is then not a resumed-handshake rate.
 *
 * <h2>Cost on the client</h2>
 * The server certificate is not validated against a CA (a load tool), but BoringSSL still verifies the
 * server's signature over the handshake (TLS 1.3 CertificateVerify, TLS 1.2 ServerKeyExchange) and does its
 * half of the key exchange. An ECDSA P-256 verification costs about three times an ECDSA signature, so
 * with ECDSA certificates the client on one core can saturate before the server does; the lab therefore also
 * measures the server's CPU time and reports handshakes per server-CPU-second.
 *
 * <h2>Threading</h2>
 * Each slot belongs to one Netty event loop ({@code --threads}, default 1) and is touched only there; each
 * loop has its own counters and histograms, merged by the calling thread after every loop has counted down
 * the run's latch.
 */
public final class TlsHandshakeClient {

    private static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(2);
    private static final long RETRY_AFTER_ERROR_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final TlsLoadOptions options;
    private final SslContext sslContext;
    private final ByteBuf request;
    private final String tlsLibrary;

    // Set in run() before any loop starts, read-only afterwards.
    private Bootstrap bootstrap;
    // The measured window, set once by the window thread (see Window) when warm-up is over; until then both
    // are Long.MAX_VALUE and nothing counts. endNanos is written first, so a loop never sees an open-ended
    // window.
    private volatile long measureStartNanos = Long.MAX_VALUE;
    private volatile long endNanos = Long.MAX_VALUE;
    // Resumed mode: slots that have not yet completed an exchange, so hold no session to offer.
    private final AtomicInteger unprimed = new AtomicInteger();

    public TlsHandshakeClient(TlsLoadOptions options) throws IOException {
        this.options = options;
        OpenSsl.ensureAvailability();
        this.sslContext = SslContextBuilder.forClient()
            .sslProvider(SslProvider.OPENSSL)
            .protocols(options.protocol())
            .trustManager(InsecureTrustManagerFactory.INSTANCE)
            .endpointIdentificationAlgorithm(null)
            .build();
        SSLSessionContext sessions = sslContext.sessionContext();
        if (sessions instanceof io.netty.handler.ssl.OpenSslSessionContext s) {
            s.setSessionCacheEnabled(options.resumed());
        }
        byte[] head = ("GET " + options.path() + " HTTP/1.1\r\nHost: " + options.hostHeader()
            + "\r\nUser-Agent: sluice-tls-loadgen\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        this.request = Unpooled.unreleasableBuffer(Unpooled.directBuffer(head.length).writeBytes(head).asReadOnly());
        this.tlsLibrary = OpenSsl.versionString() + " (netty-tcnative " + tcnativeVersion() + ")";
    }

    /** The client's TLS library, e.g. {@code BoringSSL (netty-tcnative 2.0.84.Final)}. */
    public String tlsLibrary() {
        return tlsLibrary;
    }

    /** Version of the netty-tcnative jar on the class path, from its Maven metadata. */
    static String tcnativeVersion() {
        for (String artifact : new String[] {"netty-tcnative-boringssl-static", "netty-tcnative-classes"}) {
            try (InputStream in = SSL.class.getResourceAsStream(
                    "/META-INF/maven/io.netty/" + artifact + "/pom.properties")) {
                if (in != null) {
                    Properties p = new Properties();
                    p.load(in);
                    String v = p.getProperty("version");
                    if (v != null) {
                        return v;
                    }
                }
            } catch (IOException e) {
                // fall through to the next source
            }
        }
        String v = SSL.class.getPackage().getImplementationVersion();
        return v == null ? "unknown version" : v;
    }

    /** Runs warm-up and measurement, then returns what was measured. Blocks the calling thread. */
    public TlsLoadResult run() throws Exception {
        InetAddress address = options.resolve();
        IoHandlerFactory io;
        Class<? extends SocketChannel> channelClass;
        if (Epoll.isAvailable()) {
            io = EpollIoHandler.newFactory();
            channelClass = EpollSocketChannel.class;
        } else {
            io = NioIoHandler.newFactory();
            channelClass = NioSocketChannel.class;
        }
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(options.threads(), io);
        try {
            bootstrap = new Bootstrap()
                .channel(channelClass)
                .remoteAddress(new InetSocketAddress(address, options.port()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                    (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(options.timeoutNanos())));
            unprimed.set(options.resumed() ? options.connections() : 0);
            Worker[] workers = new Worker[options.threads()];
            CountDownLatch done = new CountDownLatch(workers.length);
            for (int w = 0; w < workers.length; w++) {
                workers[w] = new Worker((EventLoop) group.next(), done);
            }
            for (int i = 0; i < options.connections(); i++) {
                Worker w = workers[i % workers.length];
                w.slots.add(new Slot(w, i));
            }
            Window cpu = new Window(System.nanoTime(), workers);
            for (Worker w : workers) {
                w.loop.execute(w::start);
            }
            Thread sampler = Thread.ofPlatform().daemon().name("tls-loadgen-window").start(cpu);
            long budget = options.warmupNanos() + cpu.maxPrimingNanos + options.durationNanos()
                + 2 * options.timeoutNanos() + TimeUnit.SECONDS.toNanos(10);
            if (!done.await(budget, TimeUnit.NANOSECONDS)) {
                throw new IllegalStateException("run did not finish in time");
            }
            sampler.join(TimeUnit.SECONDS.toMillis(5));
            return merge(workers, cpu);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * Opens and closes the measured window, and samples the server's and this process's CPU time at both ends,
     * on its own thread (off the event loops).
     *
     * <p>The window opens when the warm-up time has passed and, in resumed mode, every slot has completed one
     * exchange, so holds a session to offer: otherwise, on a slow or loaded server, slots whose first (full)
     * handshake had not happened yet would do it inside the window and lower the resumed share for a reason
     * that has nothing to do with the server's resumption. The wait is bounded ({@link #maxPrimingNanos}); what
     * it added, and any slot still unprimed, is reported.
     */
    private final class Window implements Runnable {
        final long maxPrimingNanos = Math.max(TimeUnit.SECONDS.toNanos(5), options.warmupNanos());
        private final long startNanos;
        private final Worker[] workers;
        private long server0 = -1;
        private long server1 = -1;
        private long self0 = -1;
        private long self1 = -1;
        private long primingNanos;
        private int unprimedAtStart;

        Window(long startNanos, Worker[] workers) {
            this.startNanos = startNanos;
            this.workers = workers;
        }

        @Override
        public void run() {
            long warm = startNanos + options.warmupNanos();
            sleepUntil(warm);
            long cap = warm + maxPrimingNanos;
            while (unprimed.get() > 0 && System.nanoTime() < cap) {
                sleepUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1));
            }
            long now = System.nanoTime();
            primingNanos = Math.max(0, now - warm);
            unprimedAtStart = unprimed.get();
            server0 = options.serverPids().length == 0 ? -1 : ProcessCpu.ticks(options.serverPids());
            self0 = ProcessCpu.selfTicks();
            endNanos = now + options.durationNanos();
            measureStartNanos = now;
            for (Worker w : workers) {
                w.loop.schedule(w::finish, endNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
            }
            sleepUntil(endNanos);
            server1 = options.serverPids().length == 0 ? -1 : ProcessCpu.ticks(options.serverPids());
            self1 = ProcessCpu.selfTicks();
        }

        private static void sleepUntil(long nanos) {
            long left;
            while ((left = nanos - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        double serverSeconds() {
            return seconds(server0, server1);
        }

        double selfSeconds() {
            return seconds(self0, self1);
        }

        private double seconds(long t0, long t1) {
            return t0 < 0 || t1 < 0 ? Double.NaN : (double) (t1 - t0) / options.clockTicks();
        }
    }

    private TlsLoadResult merge(Worker[] workers, Window cpu) {
        Histogram hs = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
        Histogram ex = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
        long handshakes = 0;
        long resumed = 0;
        long exchanges = 0;
        long non2xx = 0;
        long connectErrors = 0;
        long tlsErrors = 0;
        long otherErrors = 0;
        long timeouts = 0;
        for (Worker w : workers) {
            hs.add(w.handshakeTime);
            ex.add(w.exchangeTime);
            handshakes += w.handshakes;
            resumed += w.resumed;
            exchanges += w.exchanges;
            non2xx += w.non2xx;
            connectErrors += w.connectErrors;
            tlsErrors += w.tlsErrors;
            otherErrors += w.otherErrors;
            timeouts += w.timeouts;
        }
        return new TlsLoadResult(options, options.durationNanos() / 1e9, tlsLibrary, handshakes, resumed, exchanges,
            non2xx, connectErrors, tlsErrors, otherErrors, timeouts, hs, ex, cpu.serverSeconds(), cpu.selfSeconds(),
            cpu.primingNanos / 1e9, cpu.unprimedAtStart);
    }

    private boolean measured(long nanos) {
        return nanos >= measureStartNanos && nanos < endNanos;
    }

    /** One event loop's slots, counters and histograms; touched only on that loop until the latch. */
    private final class Worker {
        final EventLoop loop;
        final CountDownLatch done;
        final java.util.List<Slot> slots = new java.util.ArrayList<>();
        final Histogram handshakeTime = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
        final Histogram exchangeTime = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
        long handshakes;
        long resumed;
        long exchanges;
        long non2xx;
        long connectErrors;
        long tlsErrors;
        long otherErrors;
        long timeouts;
        boolean finished;

        Worker(EventLoop loop, CountDownLatch done) {
            this.loop = loop;
            this.done = done;
        }

        void start() {
            for (Slot s : slots) {
                s.connect();
            }
            long sweep = Math.max(TimeUnit.MILLISECONDS.toNanos(5), Math.min(options.timeoutNanos() / 4,
                TimeUnit.MILLISECONDS.toNanos(50)));
            loop.scheduleAtFixedRate(this::sweep, sweep, sweep, TimeUnit.NANOSECONDS);
            // The window thread schedules finish() once it has opened the window.
        }

        private void sweep() {
            if (finished) {
                return;
            }
            long now = System.nanoTime();
            for (Slot s : slots) {
                if (s.channel != null && now - s.startNanos > options.timeoutNanos()) {
                    if (measured(now)) {
                        timeouts++;
                    }
                    s.retry(0);
                }
            }
        }

        /** The window is over: what completes later does not count; connections in progress are closed. */
        void finish() {
            if (finished) {
                return;
            }
            finished = true;
            for (Slot s : slots) {
                s.drop();
            }
            done.countDown();
        }
    }

    /**
     * One connection slot: a sequence of connections, one at a time. Its handler is re-added to each new
     * channel; events of a channel it has already given up on are ignored.
     */
    private final class Slot extends ChannelInboundHandlerAdapter {
        final Worker worker;
        final int cacheKey;
        final ResponseFramer framer = new ResponseFramer();
        Channel channel;
        long startNanos;
        long connectedNanos;
        boolean handshaken;
        boolean primed;
        private boolean retryPending;

        Slot(Worker worker, int index) {
            this.worker = worker;
            this.cacheKey = index + 1; // a port number as Netty's session cache key; never connected to
        }

        @Override
        public boolean isSharable() {
            return true; // on one channel at a time
        }

        void connect() {
            if (worker.finished) {
                return;
            }
            framer.reset();
            handshaken = false;
            connectedNanos = 0;
            startNanos = System.nanoTime();
            Slot self = this;
            ChannelFuture f = bootstrap.clone(worker.loop).handler(new io.netty.channel.ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    SslHandler ssl = options.resumed()
                        ? sslContext.newHandler(ch.alloc(), sniOrNull(), cacheKey)
                        : sslContext.newHandler(ch.alloc(), sniOrNull(), -1);
                    ssl.setHandshakeTimeoutMillis(0); // the slot's own timeout applies
                    ch.pipeline().addLast(ssl, self);
                }
            }).connect();
            channel = f.channel();
            f.addListener((ChannelFutureListener) this::connected);
        }

        private String sniOrNull() {
            return options.sni();
        }

        private void connected(ChannelFuture f) {
            if (worker.finished || f.channel() != channel) {
                return;
            }
            if (!f.isSuccess()) {
                if (measured(System.nanoTime())) {
                    worker.connectErrors++;
                }
                channel = null;
                retry(RETRY_AFTER_ERROR_NANOS);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (ctx.channel() == channel) {
                connectedNanos = System.nanoTime();
            }
            ctx.fireChannelActive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (!(evt instanceof SslHandshakeCompletionEvent e) || worker.finished || ctx.channel() != channel) {
                return;
            }
            long now = System.nanoTime();
            if (!e.isSuccess()) {
                if (measured(now)) {
                    worker.tlsErrors++;
                }
                retry(RETRY_AFTER_ERROR_NANOS);
                return;
            }
            handshaken = true;
            if (measured(now)) {
                worker.handshakes++;
                if (wasResumed(ctx.pipeline().get(SslHandler.class).engine())) {
                    worker.resumed++;
                }
                worker.handshakeTime.recordValue(Math.min(now - connectedNanos, HIGHEST_TRACKABLE_NANOS));
            }
            ctx.writeAndFlush(request.duplicate(), ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (worker.finished || ctx.channel() != channel) {
                    return;
                }
                while (in.isReadable()) {
                    int r = framer.feed(in);
                    if (r == ResponseFramer.COMPLETE) {
                        responded(framer.status());
                        return;
                    }
                    if (r == ResponseFramer.ERROR) {
                        failed();
                        return;
                    }
                }
            } finally {
                in.release();
            }
        }

        private void responded(int status) {
            long now = System.nanoTime();
            if (!primed) {
                primed = true; // its session (ticket) came before the response: from now on it offers one
                if (options.resumed()) {
                    unprimed.decrementAndGet();
                }
            }
            if (measured(now)) {
                worker.exchanges++;
                if (status < 200 || status > 299) {
                    worker.non2xx++;
                }
                worker.exchangeTime.recordValue(Math.min(now - startNanos, HIGHEST_TRACKABLE_NANOS));
            }
            retry(0);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (worker.finished || ctx.channel() != channel) {
                return;
            }
            if (handshaken && framer.endOfInput()) {
                responded(framer.status()); // a body delimited by the close
            } else if (handshaken) {
                failed();
            }
            // Before the handshake completed, SslHandler reports the failure as a handshake event.
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (worker.finished || ctx.channel() != channel) {
                ctx.close();
                return;
            }
            if (handshaken) {
                failed();
            } else {
                ctx.close(); // the handshake failure arrives as an event (counted once there)
            }
        }

        private void failed() {
            if (measured(System.nanoTime())) {
                worker.otherErrors++;
            }
            retry(RETRY_AFTER_ERROR_NANOS);
        }

        /** Closes the current connection, if any, and starts the next one after {@code delayNanos}. */
        void retry(long delayNanos) {
            drop();
            if (worker.finished || retryPending) {
                return;
            }
            if (delayNanos == 0) {
                connect();
                return;
            }
            retryPending = true;
            worker.loop.schedule(() -> {
                retryPending = false;
                if (channel == null) {
                    connect();
                }
            }, delayNanos, TimeUnit.NANOSECONDS);
        }

        /** Closes and forgets the current connection: its late events are ignored. */
        void drop() {
            Channel c = channel;
            channel = null;
            if (c != null) {
                c.close();
            }
        }
    }

    /** Whether the server resumed this engine's session (BoringSSL's {@code SSL_session_reused}). */
    static boolean wasResumed(SSLEngine engine) {
        if (engine instanceof ReferenceCountedOpenSslEngine e) {
            synchronized (e) {
                long ssl = e.sslPointer();
                return ssl != 0 && SSL.isSessionReused(ssl);
            }
        }
        return false;
    }

    public static void main(String[] args) {
        TlsLoadOptions options;
        try {
            if (args.length == 0 || "-h".equals(args[0]) || "--help".equals(args[0])) {
                System.out.print(TlsLoadOptions.USAGE);
                System.exit(args.length == 0 ? 2 : 0);
                return;
            }
            options = TlsLoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("TlsHandshakeClient: " + e.getMessage());
            System.err.print(TlsLoadOptions.USAGE);
            System.exit(2);
            return;
        }
        try {
            TlsHandshakeClient client = new TlsHandshakeClient(options);
            System.out.printf(Locale.ROOT, "sluice-tls-loadgen: %s; %s; %.1f s warm-up + %.1f s measured%n",
                options, client.tlsLibrary(), options.warmupNanos() / 1e9, options.durationNanos() / 1e9);
            TlsLoadResult result = client.run();
            result.print(System.out);
            System.exit(result.handshakes() == 0 ? 1 : 0);
        } catch (Exception | LinkageError e) {
            System.err.println("TlsHandshakeClient: " + e);
            System.out.println("RESULT generator=sluice-tls-loadgen error=" + e.getClass().getSimpleName());
            System.exit(1);
        }
    }
}
