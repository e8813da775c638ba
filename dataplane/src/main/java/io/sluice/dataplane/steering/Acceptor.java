package io.sluice.dataplane.steering;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.nictuning.rss.RssTable;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Acceptor mode, for kernels that refuse {@link CpuSteeringProgram} (older than 4.5, or a sandbox that forbids it):
 * one thread ({@code sluice-acceptor}) owns one plain listening socket per listener, and for each connection it
 * accepts decides the owning shard and hands the connection over on that shard's {@link HandoffRing}; the shard
 * registers it on its own loop. The shard is, in order of preference:
 * <ol>
 *   <li>with the core map's RSS key and indirection table: the shard owning the NIC queue that the Toeplitz hash of
 *       the connection's 4-tuple (as received: client, then us) selects, i.e. where the NIC delivers its packets;</li>
 *   <li>else the shard on the connection's receiving CPU ({@code SO_INCOMING_CPU}), e.g. with RPS on veth, whose
 *       hash the data plane cannot predict;</li>
 *   <li>else round robin.</li>
 * </ol>
 * The acceptor costs one extra thread wake-up per batch of connections and a cross-core hand-off of each new
 * connection (not of its requests); kernel steering costs neither, which is why it is preferred.
 *
 * <p>Counters are plain fields written by the acceptor thread.
 */
public final class Acceptor implements AutoCloseable {
    private static final int BACKLOG = 4096;

    private final List<DataPlaneConfig.Listener> listeners;
    private final HandoffRing[] rings;
    private final int[] shardOfCpu;
    private final RssTable rss;
    private final int[] shardOfQueue;
    private final MultiThreadIoEventLoopGroup group;
    private final List<Channel> channels = new ArrayList<>();
    private int roundRobin;

    /** Connections placed by the RSS hash. */
    public long byRss;
    /** Connections placed by their receiving CPU. */
    public long byCpu;
    /** Connections placed round robin (no RSS information and no shard on their CPU). */
    public long byRoundRobin;
    /** Connections closed because their shard's ring was full. */
    public long dropped;

    /**
     * @param shardCpus CPU of each shard, in shard order ({@code rings[i]} is shard {@code i}'s)
     * @param rss the NIC's RSS function, or null when the core map has none
     * @param shardOfQueue shard owning each NIC queue (-1 for none); ignored without {@code rss}
     */
    public Acceptor(List<DataPlaneConfig.Listener> listeners, HandoffRing[] rings, int[] shardCpus, RssTable rss,
                    int[] shardOfQueue) {
        this.listeners = List.copyOf(listeners);
        this.rings = rings.clone();
        if (rings.length == 0 || rings.length != shardCpus.length) {
            throw new IllegalArgumentException(rings.length + " rings for " + shardCpus.length + " shards");
        }
        int maxCpu = Arrays.stream(shardCpus).max().orElse(0);
        this.shardOfCpu = new int[Math.max(0, maxCpu) + 1];
        Arrays.fill(shardOfCpu, -1);
        for (int i = 0; i < shardCpus.length; i++) {
            if (shardCpus[i] >= 0) {
                shardOfCpu[shardCpus[i]] = i;
            }
        }
        this.rss = rss;
        this.shardOfQueue = rss == null ? new int[0] : shardOfQueue.clone();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-acceptor", false),
            EpollIoHandler.newFactory());
    }

    /** Binds every listener; returns when they accept. */
    public void start() throws InterruptedException {
        EventLoop loop = group.next();
        for (DataPlaneConfig.Listener l : listeners) {
            EpollServerSocketChannel ch = new EpollServerSocketChannel();
            ch.config().setOption(ChannelOption.SO_REUSEADDR, true);
            ch.config().setOption(ChannelOption.SO_BACKLOG, BACKLOG);
            ch.pipeline().addLast(new Handoff(l.port()));
            loop.register(ch).sync();
            channels.add(ch);
            ch.bind(new InetSocketAddress(l.address(), l.port())).sync();
        }
    }

    /** The listening channels, in listener order. */
    public List<Channel> channels() {
        return List.copyOf(channels);
    }

    /** Stops accepting (connections already handed over carry on) and stops the thread. */
    @Override
    public void close() {
        for (Channel c : channels) {
            c.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The shard for a connection received on {@code incomingCpu}; acceptor thread. */
    int pick(Channel child, int incomingCpu) {
        if (rss != null) {
            int queue = rssQueue(child.remoteAddress(), child.localAddress());
            if (queue >= 0 && queue < shardOfQueue.length && shardOfQueue[queue] >= 0) {
                byRss++;
                return shardOfQueue[queue];
            }
        }
        if (incomingCpu >= 0 && incomingCpu < shardOfCpu.length && shardOfCpu[incomingCpu] >= 0) {
            byCpu++;
            return shardOfCpu[incomingCpu];
        }
        byRoundRobin++;
        int s = roundRobin;
        roundRobin = s + 1 == rings.length ? 0 : s + 1;
        return s;
    }

    /** The queue the NIC puts this connection's packets on (source = the client), or -1 if not computable. */
    private int rssQueue(SocketAddress remote, SocketAddress local) {
        if (!(remote instanceof InetSocketAddress r) || !(local instanceof InetSocketAddress l)) {
            return -1;
        }
        InetAddress ra = r.getAddress();
        InetAddress la = l.getAddress();
        if (ra instanceof Inet4Address && la instanceof Inet4Address) {
            return rss.queueForIpv4(Addresses.ipv4(ra), Addresses.ipv4(la), r.getPort(), l.getPort());
        }
        if (ra instanceof Inet6Address && la instanceof Inet6Address) {
            byte[] rb = ra.getAddress();
            byte[] lb = la.getAddress();
            return rss.queueForIpv6(Addresses.high(rb), Addresses.low(rb), Addresses.high(lb), Addresses.low(lb),
                r.getPort(), l.getPort());
        }
        return -1;
    }

    /** The listening socket's only handler: every message is an accepted, unregistered child channel. */
    private final class Handoff extends ChannelInboundHandlerAdapter {
        private final int port;

        Handoff(int port) {
            this.port = port;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            int cpu = KernelSteering.incomingCpu(child);
            int shard = pick(child, cpu);
            if (!rings[shard].offer(child, port, cpu)) {
                dropped++;
                child.unsafe().closeForcibly();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            for (HandoffRing r : rings) {
                r.ringDoorbell();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // accept(2) failed (e.g. out of file descriptors): pause for a second rather than spin, as Netty's own
            // ServerBootstrap acceptor does.
            Channel ch = ctx.channel();
            if (ch.config().isAutoRead()) {
                ch.config().setAutoRead(false);
                ch.eventLoop().schedule(() -> {
                    ch.config().setAutoRead(true);
                }, 1, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public String toString() {
        return "Acceptor[byRss=" + byRss + ", byCpu=" + byCpu + ", byRoundRobin=" + byRoundRobin + ", dropped="
            + dropped + "]";
    }
}
