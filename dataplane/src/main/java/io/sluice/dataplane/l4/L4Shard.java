package io.sluice.dataplane.l4;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.sluice.dataplane.config.L4Settings;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * One shard's L4 state; every method runs on the shard's thread (the shard calls {@link #install} when a table
 * arrives and {@link #sweep} every 100 ms).
 *
 * <p>Listeners follow the table: for each service port the shard binds its own SO_REUSEPORT socket (TCP server or UDP)
 * on its loop; a port that leaves the table has its TCP listener closed at once (no new connections) while the
 * connections accepted on it carry on, draining; a UDP port keeps its socket until its flows have drained, taking no
 * new flows. A service whose spec changed keeps its listener and switches to the new spec: new flows see the new
 * endpoints, and established flows whose endpoint is gone or draining get a drain deadline
 * ({@code l4.drainTimeoutMs}); they are never cut by the swap itself.
 */
public final class L4Shard {
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    final EventLoop loop;
    final L4Settings settings;
    private final String bindAddress;
    private final Set<Integer> httpPorts;
    public final L4Stats stats = new L4Stats();
    long nowMs;
    private final HashMap<String, TcpListener> tcp = new HashMap<>();
    private final HashMap<String, UdpService> udp = new HashMap<>();
    private final List<UdpService> retiredUdp = new ArrayList<>();
    private final EpollTcpInfo tcpInfo = new EpollTcpInfo();
    private TcpFlow head;
    private int openFlows;
    private volatile int liveFlows;
    private volatile int boundListeners;

    /**
     * @param httpPorts the shard's HTTP listener ports: an L4 TCP service on one of them is refused (it would join the
     *                  HTTP sockets' reuseport group)
     */
    public L4Shard(EventLoop loop, L4Settings settings, String bindAddress, Set<Integer> httpPorts) {
        this.loop = loop;
        this.settings = settings;
        this.bindAddress = bindAddress;
        this.httpPorts = httpPorts;
    }

    /** Switches to {@code table}: opens listeners for new ports, closes removed ones, marks flows to drain. */
    public void install(L4Table table, long now) {
        nowMs = now;
        HashMap<String, L4ServiceSpec> next = new HashMap<>();
        for (L4ServiceSpec s : table.services) {
            next.put(s.listenKey, s);
        }
        // Removed ports.
        for (Iterator<TcpListener> it = tcp.values().iterator(); it.hasNext(); ) {
            TcpListener l = it.next();
            if (!next.containsKey(l.listenKey)) {
                if (l.channel != null) {
                    l.channel.close();
                    boundListeners--;
                }
                it.remove();
            }
        }
        for (Iterator<UdpService> it = udp.values().iterator(); it.hasNext(); ) {
            UdpService u = it.next();
            if (!next.containsKey(u.listenKey)) {
                u.retire(now);
                retiredUdp.add(u);
                it.remove();
            }
        }
        // New and changed ports.
        for (L4ServiceSpec s : table.services) {
            if (s.udp) {
                UdpService u = udp.get(s.listenKey);
                if (u == null) {
                    u = takeRetired(s.listenKey);
                    if (u != null) {
                        udp.put(s.listenKey, u);
                    }
                }
                if (u == null) {
                    u = new UdpService(this, s);
                    udp.put(s.listenKey, u);
                    bindUdp(u);
                } else if (u.spec != s || u.retired) {
                    u.update(s, now);
                }
            } else {
                TcpListener l = tcp.get(s.listenKey);
                if (l == null) {
                    if (httpPorts.contains(s.port)) {
                        stats.bindFailures++;
                        System.err.println("sluice: L4 service " + s.name + " not served: TCP port " + s.port
                            + " is an HTTP listener");
                        continue;
                    }
                    l = new TcpListener(s);
                    tcp.put(s.listenKey, l);
                    bindTcp(l);
                } else {
                    l.spec = s;
                }
            }
        }
        // Established TCP flows: drain those whose endpoint no longer takes new flows (or whose port went away).
        for (TcpFlow f = head; f != null; f = f.next) {
            L4ServiceSpec s = next.get(f.spec.listenKey);
            boolean keep = s != null && f.endpoint != null && s.activeEndpoint(f.endpoint.key) != null;
            if (s != null) {
                f.spec = s;
            }
            if (!keep && f.drainDeadlineMs == 0) {
                f.drainDeadlineMs = now + settings.drainTimeoutMs();
            } else if (keep) {
                f.drainDeadlineMs = 0;
            }
        }
    }

    private UdpService takeRetired(String key) {
        for (int i = 0; i < retiredUdp.size(); i++) {
            if (retiredUdp.get(i).listenKey.equals(key)) {
                return retiredUdp.remove(i);
            }
        }
        return null;
    }

    private void bindTcp(TcpListener l) {
        boolean splice = settings.splice();
        ServerBootstrap sb = new ServerBootstrap()
            .group(loop)
            .channel(EpollServerSocketChannel.class)
            .option(EpollChannelOption.SO_REUSEPORT, true)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    TcpFlow.configureAccepted(ch, splice);
                    stats.tcpAccepted++;
                    ch.pipeline().addLast(new TcpFlow(L4Shard.this, l, (EpollSocketChannel) ch).front);
                }
            });
        sb.bind(new InetSocketAddress(bindAddress, l.spec.port)).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                if (tcp.get(l.listenKey) == l) {
                    l.channel = f.channel();
                    boundListeners++;
                } else {
                    f.channel().close(); // removed while binding
                }
            } else {
                stats.bindFailures++;
                System.err.println("sluice: L4 service " + l.spec.name + ": cannot listen on TCP " + l.spec.port + ": "
                    + f.cause().getMessage());
            }
        });
    }

    private void bindUdp(UdpService u) {
        Bootstrap b = new Bootstrap()
            .group(loop)
            .channel(EpollDatagramChannel.class)
            .option(EpollChannelOption.SO_REUSEPORT, true)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .handler(u);
        b.bind(new InetSocketAddress(bindAddress, u.spec.port)).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                u.channel = (EpollDatagramChannel) f.channel();
                UdpService.configure(u.channel);
                boundListeners++;
            } else {
                stats.bindFailures++;
                udp.remove(u.listenKey, u);
                System.err.println("sluice: L4 service " + u.spec.name + ": cannot listen on UDP " + u.spec.port + ": "
                    + f.cause().getMessage());
            }
        });
    }

    /** Every 100 ms on the shard: idle and drain deadlines, UDP flow expiry, affinity expiry. */
    public void sweep(long now) {
        nowMs = now;
        for (TcpFlow f = head; f != null; ) {
            TcpFlow next = f.next;
            f.sweep(now, tcpInfo);
            f = next;
        }
        for (TcpListener l : tcp.values()) {
            l.affinity.expire(now);
        }
        for (UdpService u : udp.values()) {
            u.sweep(now);
        }
        for (int i = retiredUdp.size() - 1; i >= 0; i--) {
            if (retiredUdp.get(i).sweep(now)) {
                retiredUdp.remove(i);
                boundListeners--;
            }
        }
    }

    void register(TcpFlow f) {
        f.next = head;
        if (head != null) {
            head.prev = f;
        }
        head = f;
        liveFlows = ++openFlows;
    }

    void unregister(TcpFlow f) {
        if (f.prev != null) {
            f.prev.next = f.next;
        } else if (head == f) {
            head = f.next;
        } else {
            return; // never registered
        }
        if (f.next != null) {
            f.next.prev = f.prev;
        }
        f.prev = null;
        f.next = null;
        liveFlows = --openFlows;
    }

    /** Stops accepting on every L4 port; established connections and flows carry on. */
    public void closeListeners() {
        for (TcpListener l : tcp.values()) {
            if (l.channel != null) {
                l.channel.close();
            }
        }
    }

    /** Closes everything (shutdown). */
    public void closeAll() {
        closeListeners();
        for (TcpFlow f = head; f != null; ) {
            TcpFlow next = f.next;
            f.close();
            f = next;
        }
        for (UdpService u : udp.values()) {
            u.closeAll();
        }
        for (UdpService u : retiredUdp) {
            u.closeAll();
        }
    }

    /** TCP connections open now (any thread; may be a little stale). */
    public int liveConnections() {
        return liveFlows;
    }

    /** Listening sockets bound now, TCP and UDP (any thread). */
    public int boundListeners() {
        return boundListeners;
    }

    /** UDP flows of a port (tests; shard thread). */
    public int udpFlows(String listenKey) {
        UdpService u = udp.get(listenKey);
        return u == null ? 0 : u.flowCount();
    }
}
