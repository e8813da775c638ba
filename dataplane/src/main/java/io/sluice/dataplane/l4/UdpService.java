package io.sluice.dataplane.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramPacket;

import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One shard's UDP socket for one L4 service port and its flow table.
 *
 * <p>Each shard binds its own SO_REUSEPORT socket on the port; the kernel picks the socket by a hash of the 4-tuple,
 * so all datagrams of one client address reach the same shard, and the flow table needs no sharing and no lock.
 *
 * <p>Flow table: client address → {@link UdpFlow}, a connected upstream socket to the endpoint chosen for that client
 * (Maglev of the flow hash, or the affinity entry). Replies read on the upstream socket go back to the client from
 * this service's listening socket, so the client sees them come from the address and port it sent to. The table is a
 * {@link LinkedHashMap} in access order: a lookup moves the flow to the young end without allocating, the sweep
 * expires idle flows from the old end, and a new flow beyond {@code udpMaxFlows} evicts the least recently used one.
 *
 * <p>Allocation: Netty hands each received datagram over as a {@link DatagramPacket} with its sender's address, and a
 * reply is written as one; beyond those, a datagram for a known flow allocates nothing here.
 */
final class UdpService extends ChannelInboundHandlerAdapter {
    static final int MAX_DATAGRAM = 65_536;

    final L4Shard shard;
    final String listenKey;
    L4ServiceSpec spec;
    EpollDatagramChannel channel;
    final Affinity affinity = new Affinity();
    /** Port removed from the table: no new flows; closed when its flows are gone or drained. */
    boolean retired;
    long retiredDeadlineMs;
    int drainingFlows;
    private UdpFlow dirtyHead;
    private final LinkedHashMap<InetSocketAddress, UdpFlow> flows;

    UdpService(L4Shard shard, L4ServiceSpec spec) {
        this.shard = shard;
        this.listenKey = spec.listenKey;
        this.spec = spec;
        int max = shard.settings.udpMaxFlows();
        this.flows = new LinkedHashMap<>(Math.min(max, 1024) * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<InetSocketAddress, UdpFlow> eldest) {
                if (size() > max) {
                    shard.stats.udpFlowsEvicted++;
                    eldest.getValue().close();
                    return true;
                }
                return false;
            }
        };
    }

    static void configure(EpollDatagramChannel ch) {
        ch.config().setRecvByteBufAllocator(new FixedRecvByteBufAllocator(MAX_DATAGRAM));
        ch.config().setOption(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024);
        ch.config().setOption(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        DatagramPacket p = (DatagramPacket) msg;
        shard.stats.udpDatagramsIn++;
        InetSocketAddress sender = p.sender();
        UdpFlow f = flows.get(sender);
        if (f == null) {
            f = retired ? null : open(sender);
            if (f == null) {
                p.release();
                return;
            }
        }
        f.lastSeenMs = shard.nowMs;
        ByteBuf content = p.content();
        f.upstream.write(content); // the packet's reference passes to the write
        if (!f.dirty) {
            f.dirty = true;
            f.nextDirty = dirtyHead;
            dirtyHead = f;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (UdpFlow f = dirtyHead; f != null; ) {
            UdpFlow next = f.nextDirty;
            f.dirty = false;
            f.nextDirty = null;
            f.upstream.flush();
            f = next;
        }
        dirtyHead = null;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // ICMP errors and the like on the listening socket: nothing to do per client; keep serving.
    }

    private UdpFlow open(InetSocketAddress client) {
        L4ServiceSpec s = spec;
        L4Endpoint e = null;
        if (s.affinityMs > 0) {
            e = affinity.lookup(client.getAddress(), s, shard.nowMs);
            if (e == null) {
                e = s.pick(FlowHash.clientIp(client.getAddress(), s.port));
            }
            if (e != null) {
                affinity.remember(client.getAddress(), e, shard.nowMs, s.affinityMs);
            }
        } else {
            e = s.pick(FlowHash.flow(client, s.port, true));
        }
        if (e == null) {
            shard.stats.udpNoEndpoint++;
            return null;
        }
        EpollDatagramChannel up = new EpollDatagramChannel();
        configure(up);
        up.config().setAllocator(channel.config().getAllocator());
        UdpFlow f = new UdpFlow(this, client, e, up);
        up.pipeline().addLast(f);
        if (!shard.loop.register(up).isSuccess()) {
            up.unsafe().closeForcibly();
            return null;
        }
        up.connect(e.address); // a UDP connect completes at once (no handshake), on this loop
        flows.put(client, f);
        shard.stats.udpFlowsCreated++;
        return f;
    }

    /** A reply from a flow's endpoint, back to its client from our listening socket. */
    void reply(UdpFlow f, ByteBuf content) {
        shard.stats.udpDatagramsOut++;
        channel.write(new DatagramPacket(content, f.client));
    }

    void flushReplies() {
        channel.flush();
    }

    /** A new spec for the same port: flows whose endpoint no longer takes new flows start draining. */
    void update(L4ServiceSpec s, long now) {
        spec = s;
        retired = false;
        drainingFlows = 0;
        for (UdpFlow f : flows.values()) {
            boolean keep = s.activeEndpoint(f.endpoint.key) != null;
            f.drainDeadlineMs = keep ? 0 : (f.drainDeadlineMs != 0 ? f.drainDeadlineMs
                : now + shard.settings.drainTimeoutMs());
            if (!keep) {
                drainingFlows++;
            }
        }
    }

    void retire(long now) {
        retired = true;
        retiredDeadlineMs = now + shard.settings.drainTimeoutMs();
    }

    /** Expires idle and drained flows; returns true when a retired service is done and closed. */
    boolean sweep(long now) {
        int idle = shard.settings.udpIdleMs();
        boolean all = drainingFlows > 0 || retired;
        for (Iterator<UdpFlow> it = flows.values().iterator(); it.hasNext(); ) {
            UdpFlow f = it.next();
            boolean expired = now - f.lastSeenMs >= idle;
            boolean drained = f.drainDeadlineMs != 0 && now >= f.drainDeadlineMs
                || retired && now >= retiredDeadlineMs;
            if (expired || drained) {
                if (f.drainDeadlineMs != 0) {
                    drainingFlows--;
                }
                shard.stats.udpFlowsExpired++;
                it.remove();
                f.close();
            } else if (!all) {
                break; // access order: the rest were seen more recently
            }
        }
        affinity.expire(now);
        if (retired && flows.isEmpty()) {
            channel.close();
            return true;
        }
        return false;
    }

    void closeAll() {
        for (UdpFlow f : flows.values()) {
            f.close();
        }
        flows.clear();
        if (channel != null) {
            channel.close();
        }
    }

    int flowCount() {
        return flows.size();
    }
}
