package io.sluice.dataplane.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.FileDescriptor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * One proxied TCP connection: the client's channel and the upstream channel, both on the shard's loop.
 *
 * <p>Life: the client is accepted with reads off. An endpoint is chosen (affinity entry, else Maglev of the flow
 * hash), the upstream connect starts; if it fails or times out, the next endpoint is tried, up to the configured
 * attempts, and no byte of the client has been forwarded yet (anything that arrived waits in {@link #pending}). Once
 * connected, the PROXY v2 header (if the service asks for it) is written, and both directions are forwarded:
 *
 * <ul>
 *   <li><b>splice</b> (default): {@code spliceTo} each way from the first byte: the kernel moves the bytes socket →
 *   pipe → socket without copying them into user space. Netty's splice pauses the source's reads while the
 *   destination cannot take more (backpressure). Both channels run level-triggered, as Netty's splice requires.
 *   (A hybrid that started on the copy path and switched after {@link #SPLICE_AFTER_BYTES} saved the pipes of short
 *   connections, but shares the copy path's open truncation bug, see {@code L4ProxyTest#copyPathByteExact}; the
 *   switch stays in the code, unused while the threshold is 0.)</li>
 *   <li><b>copy</b>: pooled buffers read from one side are written to the other, flushed once per read batch; a side
 *   whose peer is not writable stops reading until it is.</li>
 * </ul>
 *
 * <p>Half-close: a FIN from one side (input shutdown, half-closure allowed on both channels) is passed on as a
 * shutdown of the other side's output once everything read before it has been written; the connection closes when
 * both directions have ended. Netty's splice path shuts the input on the FIN possibly before it has spliced every
 * byte that came before it, so on that event the rest of the socket's receive queue is read here (until EOF) and
 * written after what was spliced. An error or a reset on either side closes both.
 *
 * <p>Idle: copy path: time of the last read; once a direction is spliced: the kernel's {@code tcpi_last_data_recv} of
 * both sockets,
 * asked only when the idle deadline comes up (one getsockopt per connection per idle period, not per byte).
 */
final class TcpFlow {
    private static final int MAX_TRIED = 8;
    /** Bytes a direction carries on the copy path before it switches to splice (when splice is on). */
    static final long SPLICE_AFTER_BYTES = 0;

    final L4Shard shard;
    final TcpListener listener;
    final EpollSocketChannel client;
    EpollSocketChannel upstream;
    L4ServiceSpec spec;
    L4Endpoint endpoint;
    private final boolean splice;
    private final L4Endpoint[] tried = new L4Endpoint[MAX_TRIED];
    private int triedCount;
    private ArrayDeque<ByteBuf> pending;
    private boolean connected;
    private boolean closed;
    private boolean clientInputDone;
    private boolean upstreamInputDone;
    /** Bytes read so far from the client / the upstream while on the copy path. */
    private long upBytes;
    private long downBytes;
    /** Whether the client → upstream / upstream → client direction runs on splice. */
    private boolean upSpliced;
    private boolean downSpliced;
    private int outputsShut;
    long lastActivityMs;
    long idleCheckAtMs;
    long drainDeadlineMs;
    TcpFlow prev;
    TcpFlow next;
    final Front front = new Front();
    final Back back = new Back();

    TcpFlow(L4Shard shard, TcpListener listener, EpollSocketChannel client) {
        this.shard = shard;
        this.listener = listener;
        this.client = client;
        this.spec = listener.spec;
        this.splice = shard.settings.splice();
        this.lastActivityMs = shard.nowMs;
        this.idleCheckAtMs = shard.nowMs + shard.settings.idleMs();
        if (splice) {
            client.config().setEpollMode(EpollMode.LEVEL_TRIGGERED);
        }
    }

    /** The client connected (its reads are off): choose an endpoint and connect. */
    private void start() {
        shard.register(this);
        InetSocketAddress remote = client.remoteAddress();
        L4Endpoint e = listener.choose(remote, shard.nowMs);
        if (e == null) {
            shard.stats.tcpNoEndpoint++;
            close();
            return;
        }
        connect(e);
    }

    private void connect(L4Endpoint e) {
        endpoint = e;
        if (triedCount < MAX_TRIED) {
            tried[triedCount++] = e;
        }
        EpollSocketChannel ch = new EpollSocketChannel();
        ch.config().setAllocator(client.config().getAllocator());
        ch.config().setTcpNoDelay(true);
        ch.config().setAutoRead(false);
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ch.config().setConnectTimeoutMillis(shard.settings.connectTimeoutMs());
        ch.config().setWriteBufferWaterMark(L4Shard.WATER_MARK);
        if (splice) {
            ch.config().setEpollMode(EpollMode.LEVEL_TRIGGERED);
        }
        ch.pipeline().addLast(back);
        upstream = ch;
        if (!shard.loop.register(ch).isSuccess()) {
            ch.unsafe().closeForcibly();
            connectFailed(ch);
            return;
        }
        ch.connect(e.address).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                connected(ch);
            } else {
                connectFailed(ch);
            }
        });
    }

    private void connectFailed(EpollSocketChannel ch) {
        ch.close();
        if (closed || ch != upstream) {
            return;
        }
        upstream = null;
        L4Endpoint n = triedCount < shard.settings.connectAttempts() && triedCount < MAX_TRIED
            ? spec.next(endpoint, tried, triedCount) : null;
        if (n == null) {
            shard.stats.tcpConnectFailures++;
            close();
            return;
        }
        shard.stats.tcpConnectRetries++;
        connect(n);
    }

    private void connected(EpollSocketChannel ch) {
        if (closed || ch != upstream) {
            ch.close();
            return;
        }
        connected = true;
        listener.remember(client.remoteAddress(), endpoint, shard.nowMs);
        if (spec.proxyProtocol) {
            ch.write(ProxyProtocolV2.header(ch.alloc(), client.remoteAddress(), client.localAddress()));
        }
        if (pending != null) {
            for (ByteBuf b; (b = pending.poll()) != null; ) {
                ch.write(b);
            }
            pending = null;
        }
        ch.flush();
        if (clientInputDone) {
            endOutput(ch);
        }
        if (splice && SPLICE_AFTER_BYTES == 0) {
            upSpliced = true;
            downSpliced = true;
            shard.stats.tcpSplicedDirections += 2;
            client.spliceTo(ch, Integer.MAX_VALUE).addListener(closeOnFailure);
            ch.spliceTo(client, Integer.MAX_VALUE).addListener(closeOnFailure);
        }
        ch.config().setAutoRead(true);
        if (!clientInputDone) {
            client.config().setAutoRead(true);
        }
    }

    private final ChannelFutureListener closeOnFailure = f -> {
        if (!f.isSuccess()) {
            close();
        }
    };

    /** {@code from} reached EOF: pass it on as a shutdown of {@code to}'s output after what came before it. */
    private void inputEnded(EpollSocketChannel from, EpollSocketChannel to) {
        if (from == client ? upSpliced : downSpliced) {
            drainRest(from, to);
        }
        if (from == client) {
            clientInputDone = true;
            if (!connected) {
                return; // passed on once connected
            }
        } else {
            upstreamInputDone = true;
        }
        endOutput(to);
    }

    private void endOutput(EpollSocketChannel to) {
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                close();
                return;
            }
            to.shutdownOutput().addListener((ChannelFutureListener) s -> {
                if (++outputsShut == 2 || !s.isSuccess()) {
                    close();
                }
            });
        });
    }

    /** Reads what is left in {@code from}'s receive queue (after a FIN) and writes it to {@code to}. */
    private void drainRest(EpollSocketChannel from, EpollSocketChannel to) {
        FileDescriptor fd = from.fd();
        try {
            while (true) {
                ByteBuf b = from.alloc().directBuffer(64 * 1024);
                int n;
                try {
                    n = fd.readAddress(b.memoryAddress(), b.writerIndex(), b.capacity());
                } catch (IOException | RuntimeException e) {
                    b.release();
                    throw e;
                }
                if (n <= 0) {
                    b.release();
                    return;
                }
                b.writerIndex(n);
                if (to == null || !connected && from == client) {
                    queue(b);
                } else {
                    to.write(b);
                }
            }
        } catch (IOException | RuntimeException e) {
            close();
        }
    }

    private void queue(ByteBuf b) {
        if (pending == null) {
            pending = new ArrayDeque<>(4);
        }
        pending.add(b);
    }

    /** Sweep: idle and drain deadlines. Returns true if the flow was closed. */
    boolean sweep(long now, EpollTcpInfo info) {
        if (drainDeadlineMs != 0 && now >= drainDeadlineMs) {
            shard.stats.tcpDrainClosed++;
            close();
            return true;
        }
        if (now < idleCheckAtMs) {
            return false;
        }
        int idle = shard.settings.idleMs();
        long quiet;
        if ((upSpliced || downSpliced) && upstream != null && client.isActive() && upstream.isActive()) {
            client.tcpInfo(info);
            long a = info.lastDataRecv();
            upstream.tcpInfo(info);
            quiet = Math.min(a, info.lastDataRecv());
        } else {
            quiet = now - lastActivityMs;
        }
        if (quiet >= idle) {
            shard.stats.tcpIdleClosed++;
            close();
            return true;
        }
        idleCheckAtMs = now + idle - quiet;
        return false;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (pending != null) {
            for (ByteBuf b; (b = pending.poll()) != null; ) {
                b.release();
            }
        }
        client.close();
        if (upstream != null) {
            upstream.close();
        }
        shard.unregister(this);
    }

    boolean isClosed() {
        return closed;
    }

    /** The client side. */
    final class Front extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            start();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            lastActivityMs = shard.nowMs;
            ByteBuf b = (ByteBuf) msg;
            if (!connected) {
                queue(b);
                return;
            }
            upBytes += b.readableBytes();
            upstream.write(b);
            if (splice && !upSpliced && upBytes >= SPLICE_AFTER_BYTES) { // (unused while the threshold is 0)
                upSpliced = true; // the next reads of this loop pass already splice (the queue is checked per read)
                shard.stats.tcpSplicedDirections++;
                client.spliceTo(upstream, Integer.MAX_VALUE).addListener(closeOnFailure);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (connected) {
                upstream.flush();
                if (!upstream.isWritable() && !upSpliced) {
                    client.config().setAutoRead(false);
                }
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // Once spliced, Netty's splice runs the source's reads itself (off while its writes are pending).
            if (!downSpliced && client.isWritable() && upstream != null && !upstreamInputDone) {
                upstream.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputEnded(client, upstream);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            close();
        }
    }

    /** The upstream side; it joins the pipeline of each upstream channel tried, one at a time. */
    @io.netty.channel.ChannelHandler.Sharable
    final class Back extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (ctx.channel() != upstream) {
                ((ByteBuf) msg).release();
                return;
            }
            lastActivityMs = shard.nowMs;
            downBytes += ((ByteBuf) msg).readableBytes();
            client.write(msg);
            if (splice && !downSpliced && downBytes >= SPLICE_AFTER_BYTES) {
                downSpliced = true;
                shard.stats.tcpSplicedDirections++;
                upstream.spliceTo(client, Integer.MAX_VALUE).addListener(closeOnFailure);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (ctx.channel() == upstream) {
                client.flush();
                if (!client.isWritable() && !downSpliced) {
                    upstream.config().setAutoRead(false);
                }
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (!upSpliced && ctx.channel() == upstream && upstream.isWritable() && !clientInputDone) {
                client.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && ctx.channel() == upstream) {
                inputEnded(upstream, client);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() == upstream && connected) {
                close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() == upstream && connected) {
                close();
            }
        }
    }

    static void configureAccepted(Channel ch, boolean splice) {
        ch.config().setAutoRead(false);
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ch.config().setOption(ChannelOption.TCP_NODELAY, true);
        ch.config().setWriteBufferWaterMark(L4Shard.WATER_MARK);
        if (splice) {
            ch.config().setOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
    }

}
