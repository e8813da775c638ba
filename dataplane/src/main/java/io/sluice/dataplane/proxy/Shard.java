package io.sluice.dataplane.proxy;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.config.OpsConfig;
import io.sluice.dataplane.metrics.RouteSeries;
import io.sluice.dataplane.metrics.ShardMetrics;
import io.sluice.dataplane.ops.AccessLog;
import io.sluice.dataplane.ops.NodeOps;
import io.sluice.dataplane.l4.L4Shard;
import io.sluice.dataplane.route.Router;
import io.sluice.dataplane.shard.CpuAffinity;
import io.sluice.dataplane.shard.IdleStrategies;
import io.sluice.dataplane.shard.ShardCommand;
import io.sluice.dataplane.steering.HandoffRing;
import io.sluice.dataplane.steering.KernelSteering;
import io.sluice.dataplane.steering.RssPortChooser;
import io.sluice.dataplane.steering.SteeredShard;
import io.sluice.dataplane.steering.SteeringPlan;
import io.sluice.dataplane.steering.SteeringStats;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One shard: one thread pinned to one CPU, running one Netty epoll event loop that owns this shard's listening
 * sockets (one SO_REUSEPORT socket per listener, so the kernel spreads connections over shards), every connection
 * accepted on them, their upstream pools and this shard's view of the route table.
 *
 * <p>Buffers come from Netty's pooled allocator, whose per-thread caches suit threads that never migrate.
 *
 * <p>Other threads reach a shard only through its command ring, a Disruptor ring buffer: they claim a slot, fill it,
 * publish it, and ring the loop's doorbell ({@link EventLoop#execute} of a preallocated drain task). The shard drains
 * the ring on its own thread and applies commands between requests, so shard state never needs a lock.
 *
 * <p>Steering ({@link SteeringPlan}): the shard reads {@code SO_INCOMING_CPU} of each connection it accepts and counts
 * whether it was received on this shard's CPU; in acceptor mode it binds no listener and instead adopts the
 * connections the acceptor hands it on its {@link HandoffRing} (a second Disruptor ring, same doorbell pattern). With
 * an RSS core map its upstream connections start from local ports chosen by its {@link RssPortChooser}.
 */
public final class Shard implements SteeredShard {
    private static final long SWEEP_MS = 100;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    public final int id;
    public final int cpu;
    final DataPlaneConfig config;
    private final MultiThreadIoEventLoopGroup group;
    final EventLoop loop;
    private final RingBuffer<ShardCommand> commands;
    private final EventPoller<ShardCommand> poller;
    private final EventPoller.Handler<ShardCommand> commandHandler = this::onCommand;
    private final Runnable drain = this::drainCommands;
    private final Bootstrap upstreamBootstrap;
    private final List<Channel> listeners = new ArrayList<>();
    public final ShardStats stats = new ShardStats();
    /** Written by this shard's thread only. */
    public final SteeringStats steeringStats = new SteeringStats();
    private final HandoffRing handoff;
    /** Null: upstream connections use ephemeral ports. */
    private final RssPortChooser rssPorts;
    private final boolean listens;
    /** {@code ":port"} of the node's HTTPS port for redirects, empty for 443. */
    final byte[] httpsPortSuffix;
    /** Request metrics (issue 8): written by this shard only, read by the collector. */
    public final ShardMetrics metrics = new ShardMetrics();
    final NodeOps ops;
    /** This shard's access-log ring, or null when the log is off. */
    final AccessLog.Ring accessLog;
    final OutlierDetector outlier;
    final RetryBudget retryBudget;
    /** L4 (TCP/UDP) listeners and flows of this shard (issue 6); shard-confined like the rest. */
    private final L4Shard l4;

    // Shard-confined state.
    Router router;
    /** The installed table's TLS contexts (null without TLS listeners) and per-host HSTS/redirect policy. */
    io.sluice.dataplane.tls.TlsContexts tls;
    io.sluice.dataplane.tls.TlsContexts.HostPolicy[] hostPolicies = new io.sluice.dataplane.tls.TlsContexts.HostPolicy[0];
    ShardBackend[] backends = new ShardBackend[0];
    /** The installed table's {@code seriesOfRoute}. */
    int[] seriesOfRoute = new int[0];
    /** Set by a DRAIN command: every response closes its connection ({@code Connection: close}). */
    boolean draining;
    private final HashMap<String, UpstreamPool> pools = new HashMap<>();
    /** Tables installed so far: the stamp that marks the pools the current table uses. */
    private long installs;
    /** This shard's view of each backend of the installed table, by the table's (shared, immutable) spec. */
    private IdentityHashMap<CompiledTable.BackendSpec, ShardBackend> viewBySpec = new IdentityHashMap<>();
    long nowMs;
    private DownstreamConnection connHead;
    /** HTTP/2 connections (issue 5): their sweep and the flushes batched per read. */
    final H2ShardState h2 = new H2ShardState(this);
    private int openConnections;

    // Published for other threads to read.
    private volatile long installedGeneration = -1;
    private volatile long lastSwapNanos;
    private volatile int pinnedCpu = -1;
    private volatile int liveConnections;
    /** The installed backends, for the collector and the status page (read-only there, fields read racily). */
    private volatile ShardBackend[] publishedBackends = new ShardBackend[0];
    private volatile long installedEpochMillis;
    private volatile int h2Live;

    /** An HTTP/2 connection opened or closed here (shard thread). */
    void h2ConnectionsChanged() {
        h2Live = h2.liveConnections;
    }

    Shard(int id, int cpu, DataPlaneConfig config) {
        this(id, cpu, config, null);
    }

    /** @param steering the data plane's steering, or null for plain SO_REUSEPORT listeners and ephemeral ports */
    Shard(int id, int cpu, DataPlaneConfig config, SteeringPlan steering) {
        this(id, cpu, config, steering, new NodeOps(config.ops().withoutAccessLog(), 1));
    }

    /** @param ops what the node's shards share for operations (health registry, access log) */
    Shard(int id, int cpu, DataPlaneConfig config, SteeringPlan steering, NodeOps ops) {
        this.ops = ops;
        this.accessLog = ops.accessLog == null ? null : ops.accessLog.ring(id);
        this.outlier = new OutlierDetector(config.ops().outlier());
        this.retryBudget = new RetryBudget(config.ops().retry(), ops.shards);
        this.id = id;
        this.cpu = cpu;
        this.config = config;
        DefaultThreadFactory base = new DefaultThreadFactory("sluice-shard-" + id, false);
        this.group = new MultiThreadIoEventLoopGroup(1, (java.util.concurrent.ThreadFactory) r -> base.newThread(() -> {
            if (cpu >= 0 && CpuAffinity.pinCurrentThread(cpu)) {
                pinnedCpu = cpu;
            }
            r.run();
        }), EpollIoHandler.newFactory(0, IdleStrategies.factory(config.idle())));
        this.loop = group.next();
        this.commands = RingBuffer.createMultiProducer(ShardCommand::new, 64);
        this.poller = commands.newPoller();
        commands.addGatingSequences(poller.getSequence());
        this.upstreamBootstrap = new Bootstrap()
            .group(loop)
            .channel(EpollSocketChannel.class)
            .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.timeouts().connectMs())
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
        this.handoff = new HandoffRing(loop, steering == null ? 64 : steering.handoffRingSize(), this::adopt);
        this.rssPorts = steering == null ? null : steering.portChooser(id, steeringStats);
        this.listens = steering == null || steering.shardsListen();
        int https = config.tls().httpsPort();
        for (DataPlaneConfig.Listener l : config.listeners()) {
            if (https == 0 && l.tls()) {
                https = l.port();
            }
        }
        this.httpsPortSuffix = (https == 0 || https == 443 ? "" : ":" + https)
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        this.l4 = new L4Shard(loop, config.l4(), "0.0.0.0",
            config.listeners().stream().map(DataPlaneConfig.Listener::port).collect(java.util.stream.Collectors.toSet()));
    }

    /** Installs the first table and binds the listeners; returns when the shard accepts connections. */
    void start(CompiledTable table) throws InterruptedException {
        loop.submit(() -> {
            nowMs = System.nanoTime() / 1_000_000;
            install(table, System.nanoTime());
        }).sync();
        loop.scheduleAtFixedRate(this::sweep, SWEEP_MS, SWEEP_MS, TimeUnit.MILLISECONDS);
        if (!listens) {
            return; // acceptor mode: connections arrive through adopt()
        }
        for (DataPlaneConfig.Listener l : config.listeners()) {
            ServerBootstrap sb = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(EpollChannelOption.SO_REUSEPORT, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        steeringStats.countAccepted(KernelSteering.incomingCpu(ch), cpu);
                        initDownstream(ch, l);
                    }
                });
            listeners.add(sb.bind(new InetSocketAddress(l.address(), l.port())).sync().channel());
        }
    }

    /**
     * A shard that is never started: its table is installed on the calling thread. For driving a
     * {@link DownstreamConnection} in an {@code EmbeddedChannel}, where the embedded loop stands in for the shard's.
     */
    static Shard unstarted(DataPlaneConfig config, CompiledTable table) {
        Shard s = new Shard(0, -1, config);
        s.nowMs = System.nanoTime() / 1_000_000;
        s.install(table, System.nanoTime());
        return s;
    }

    /** Hands a new table to this shard (any thread). The shard switches to it between requests. */
    void publish(CompiledTable table) {
        long seq = commands.next();
        ShardCommand c = commands.get(seq);
        c.type = ShardCommand.INSTALL_TABLE;
        c.table = table;
        c.publishedNanos = System.nanoTime();
        commands.publish(seq);
        loop.execute(drain);
    }

    private void drainCommands() {
        try {
            poller.poll(commandHandler);
        } catch (Exception e) {
            throw new IllegalStateException("shard " + id + " command failed", e);
        }
    }

    private boolean onCommand(ShardCommand c, long sequence, boolean endOfBatch) {
        if (c.type == ShardCommand.INSTALL_TABLE && c.table.generation() > installedGeneration) {
            install(c.table, c.publishedNanos);
        } else if (c.type == ShardCommand.DRAIN) {
            drain();
        }
        c.clear();
        return true;
    }

    /**
     * Switches this shard to {@code table}: builds the shard's balancing state, reusing the pool of every endpoint
     * that stays, and retires the pools of endpoints that went away (their in-flight exchanges finish first).
     */
    private void install(CompiledTable table, long publishedNanos) {
        long stamp = ++installs; // pools the new table uses get this stamp; the others are retired below
        ShardBackend[] bs = new ShardBackend[table.backends.length];
        IdentityHashMap<CompiledTable.BackendSpec, ShardBackend> views = new IdentityHashMap<>(bs.length * 2);
        DataPlaneConfig.Upstream u = config.upstream();
        for (int i = 0; i < bs.length; i++) {
            CompiledTable.BackendSpec spec = table.backends[i];
            OpsConfig.Limits lim = config.ops().policyFor(spec.name).limits();
            ShardBackend view = viewBySpec.get(spec);
            if (view != null && usable(view)) {
                // An unchanged backend (CompiledTable kept its spec): keep this shard's view of it, with its balancer
                // position and in-flight counts, instead of rebuilding it (most updates change a few endpoints).
                for (ShardEndpoint e : view.endpoints) {
                    e.pool.usedBy = stamp;
                }
            } else {
                // A TLS backend without a usable client context gets no endpoints (503), never cleartext.
                ShardEndpoint[] eps = new ShardEndpoint[spec.tlsProblem != null ? 0 : spec.endpoints.length];
                for (int j = 0; j < eps.length; j++) {
                    CompiledTable.EndpointSpec es = spec.endpoints[j];
                    UpstreamPool p = pools.get(es.key);
                    if (p == null || p.retired) {
                        p = new UpstreamPool(es.key, es.address,
                            lim.maxConnections() > 0 ? lim.maxConnections() : u.maxConnectionsPerEndpoint(),
                            u.maxIdlePerEndpoint(),
                            lim.maxPending() > 0 ? lim.maxPending() : u.maxPendingPerEndpoint(),
                            ops.health.get(es.key));
                        if (es.tlsServerName != null) {
                            p.tls = spec.clientTls;
                            p.tlsServerName = es.tlsServerName;
                        }
                        pools.put(es.key, p);
                    }
                    p.usedBy = stamp;
                    eps[j] = new ShardEndpoint(es, p);
                }
                view = new ShardBackend(spec.name, spec.balancer, eps, (long) id * 0x9E3779B97F4A7C15L + i + 1,
                    lim.maxRequests());
                view.h2Upstream = spec.protocol.http2();
            }
            bs[i] = view;
            views.put(spec, view);
        }
        viewBySpec = views;
        pools.values().removeIf(p -> {
            if (p.usedBy != stamp) {
                p.retire();
                return true;
            }
            return false;
        });
        metrics.ensureSeries(RouteSeries.all().length);
        router = table.router;
        tls = table.tls;
        hostPolicies = table.hostPolicies;
        backends = bs;
        seriesOfRoute = table.seriesOfRoute;
        publishedBackends = bs;
        installedEpochMillis = System.currentTimeMillis();
        l4.install(table.l4, System.nanoTime() / 1_000_000); // drain deadlines from now, not the sweep clock
        stats.tablesInstalled++;
        lastSwapNanos = System.nanoTime() - publishedNanos;
        installedGeneration = table.generation();
    }

    /**
     * Opens an upstream connection for {@code c}; shard thread. With an {@link RssPortChooser} the socket is bound,
     * before it connects, to a local port whose replies the NIC delivers to one of this shard's queues.
     *
     * <p>That path builds the channel itself rather than through the bootstrap, because a port can turn out to be
     * unusable only at connect time (its 4-tuple is taken: connect fails at once with EADDRNOTAVAIL) and must then be
     * retried on a fresh socket, while {@code c}, a non-sharable handler, can join one pipeline only. So {@code c} is
     * added once the connect is under way. Registration and a synchronous connect failure both complete inside these
     * calls because they run on the channel's own loop. If the connect completes inside the call (possible on
     * loopback), {@code c} misses {@code channelActive}; it learns its channel from the future as well.
     */
    ChannelFuture connect(io.netty.channel.ChannelHandler c, InetSocketAddress address) {
        RssPortChooser ports = rssPorts;
        if (ports == null || !loop.inEventLoop() || !ports.begin(address)) {
            return upstreamBootstrap.clone().handler(handlerOf(c)).connect(address);
        }
        while (true) {
            EpollSocketChannel ch = new EpollSocketChannel();
            int port = ports.bindNext((Socket) ch.fd());
            ch.config().setAllocator(PooledByteBufAllocator.DEFAULT);
            ch.config().setTcpNoDelay(true);
            ch.config().setConnectTimeoutMillis(config.timeouts().connectMs());
            ch.config().setWriteBufferWaterMark(WATER_MARK);
            if (!loop.register(ch).isSuccess()) {
                ch.unsafe().closeForcibly();
                steeringStats.rssFallbacks++;
                return upstreamBootstrap.clone().handler(handlerOf(c)).connect(address);
            }
            ChannelFuture f = ch.connect(address);
            if (port >= 0 && f.isDone() && !f.isSuccess() && RssPortChooser.isTupleInUse(f.cause())) {
                ports.tupleBusy();
                ch.close();
                continue; // next candidate; bindNext gives up (returns -1) after a bounded number of attempts
            }
            initUpstream(ch, c);
            f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            if (port >= 0) {
                steeringStats.rssConnects++;
            }
            return f;
        }
    }

    private static io.netty.channel.ChannelHandler handlerOf(io.netty.channel.ChannelHandler c) {
        UpstreamPool p = poolOf(c);
        if (p == null || p.tls == null) {
            return c;
        }
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                initUpstream(ch, c);
            }
        };
    }

    /**
     * Acceptor mode, shard thread: takes over a connection the acceptor accepted (see {@link HandoffRing}) and
     * registers it on this shard's loop, where it then lives like one accepted here.
     */
    private void adopt(Channel ch, int listenerPort, int incomingCpu) {
        steeringStats.handedOff++;
        steeringStats.countAccepted(incomingCpu, cpu);
        ch.config().setAllocator(PooledByteBufAllocator.DEFAULT);
        ch.config().setOption(ChannelOption.TCP_NODELAY, true);
        ch.config().setWriteBufferWaterMark(WATER_MARK);
        DataPlaneConfig.Listener listener = null;
        for (DataPlaneConfig.Listener l : config.listeners()) {
            if (l.port() == listenerPort) {
                listener = l;
                break;
            }
        }
        initDownstream(ch, listener != null ? listener : new DataPlaneConfig.Listener("0.0.0.0", listenerPort));
        loop.register(ch).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    /**
     * A client connection's pipeline: [PROXY protocol header] [TLS: ClientHello → SslHandler or passthrough] HTTP.
     */
    void initDownstream(Channel ch, DataPlaneConfig.Listener l) {
        DownstreamConnection dc = new DownstreamConnection(this, l.port(), l.tls());
        if (l.proxyProtocol()) {
            ch.pipeline().addLast(new ProxyProtocolDecoder(stats));
        }
        if (l.tls()) {
            ch.pipeline().addLast(new TlsAcceptor(this, dc));
        }
        ch.pipeline().addLast(dc);
    }

    /** A raw TCP connection to {@code address} on this shard's loop (TLS passthrough), half-closes allowed. */
    ChannelFuture connectRaw(io.netty.channel.ChannelHandler handler, InetSocketAddress address) {
        return upstreamBootstrap.clone().option(ChannelOption.ALLOW_HALF_CLOSURE, true).handler(handler)
            .connect(address);
    }

    /** The endpoint pool of an upstream handler: an HTTP/1.1 connection's, or an HTTP/2 connection's (issue 5). */
    private static UpstreamPool poolOf(io.netty.channel.ChannelHandler c) {
        if (c instanceof UpstreamConnection u) {
            return u.pool;
        }
        if (c instanceof H2ClientConnection h) {
            return h.pool.endpoint();
        }
        return null;
    }

    /**
     * The upstream pipeline: a TLS client handler first when the endpoint's backend speaks TLS (HTTPS; H2 and GRPCS,
     * whose client context offers ALPN h2).
     */
    private static void initUpstream(Channel ch, io.netty.channel.ChannelHandler c) {
        UpstreamPool p = poolOf(c);
        if (p != null && p.tls != null) {
            ch.pipeline().addLast("tls", p.tls.newHandler(ch.alloc(), p.tlsServerName, p.address.getPort()));
        }
        ch.pipeline().addLast(c);
    }

    void register(DownstreamConnection c) {
        c.nextConn = connHead;
        if (connHead != null) {
            connHead.prevConn = c;
        }
        connHead = c;
        openConnections++;
        liveConnections = openConnections;
        stats.connections++;
    }

    void unregister(DownstreamConnection c) {
        if (c.prevConn != null) {
            c.prevConn.nextConn = c.nextConn;
        } else if (connHead == c) {
            connHead = c.nextConn;
        }
        if (c.nextConn != null) {
            c.nextConn.prevConn = c.prevConn;
        }
        c.prevConn = null;
        c.nextConn = null;
        openConnections--;
        liveConnections = openConnections;
    }

    private static boolean usable(ShardBackend view) {
        for (ShardEndpoint e : view.endpoints) {
            if (e.pool.retired) {
                return false;
            }
        }
        return true;
    }

    /** Every 100 ms: advance the shard clock and fire the deadlines that passed (timeouts without a timer each). */
    private void sweep() {
        long now = System.nanoTime() / 1_000_000;
        nowMs = now;
        l4.sweep(now);
        for (DownstreamConnection c = connHead; c != null; ) {
            DownstreamConnection next = c.nextConn;
            if (c.deadline != 0 && c.deadline <= now) {
                c.onTimeout();
            }
            c = next;
        }
        h2.sweep(now);
    }

    /** Asks this shard to drain (any thread): see {@link #drain()}. */
    void publishDrain() {
        long seq = commands.next();
        ShardCommand c = commands.get(seq);
        c.type = ShardCommand.DRAIN;
        c.publishedNanos = System.nanoTime();
        commands.publish(seq);
        loop.execute(drain);
    }

    /**
     * Shard thread: from now on every response carries {@code Connection: close} and closes its connection; connections
     * idle between requests close now.
     */
    private void drain() {
        draining = true;
        for (DownstreamConnection c = connHead; c != null; ) {
            DownstreamConnection next = c.nextConn;
            c.closeIfIdle();
            c = next;
        }
        h2.goAwayAll(); // HTTP/2 clients: GOAWAY, their streams in flight finish
    }

    /** The installed backends (their counters are read racily). */
    public ShardBackend[] installedBackends() {
        return publishedBackends;
    }

    public long installedEpochMillis() {
        return installedEpochMillis;
    }

    public NodeOps ops() {
        return ops;
    }

    public AccessLog.Ring accessLogRing() {
        return accessLog;
    }

    public long retriesDenied() {
        return retryBudget.denied;
    }

    public long installedGeneration() {
        return installedGeneration;
    }

    public long lastSwapNanos() {
        return lastSwapNanos;
    }

    public int pinnedCpu() {
        return pinnedCpu;
    }

    public int liveConnections() {
        return liveConnections + h2Live;
    }

    @Override
    public int cpu() {
        return cpu;
    }

    @Override
    public List<Channel> listeners() {
        return List.copyOf(listeners);
    }

    @Override
    public HandoffRing handoff() {
        return handoff;
    }

    @Override
    public SteeringStats steeringStats() {
        return steeringStats;
    }

    /** Stops accepting; connections already accepted carry on. */
    @Override
    public void closeListeners() {
        for (Channel l : listeners) {
            l.close().syncUninterruptibly();
        }
        loop.execute(l4::closeListeners);
    }

    /** This shard's L4 state (its counters and flow counts may be read from any thread). */
    public L4Shard l4() {
        return l4;
    }

    void shutdown() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
