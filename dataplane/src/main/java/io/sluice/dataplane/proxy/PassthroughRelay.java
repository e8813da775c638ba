package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.sluice.dataplane.route.Route;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * TLS passthrough: a connection whose server name is marked passthrough is relayed, bytes untouched from the
 * ClientHello on, to an endpoint of the backend of that host's {@code /} rule. The backend terminates TLS itself.
 * Both sides stay on the shard's loop; each side's reads pause while the other cannot take more (no unbounded
 * buffering), and a half-close on one side is passed on to the other.
 */
final class PassthroughRelay extends ChannelInboundHandlerAdapter {
    private final Shard shard;
    private final String serverName;
    private Channel client;
    private Channel upstream;
    /** Bytes that arrived before the upstream connection was up (the ClientHello at least). */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(2);

    PassthroughRelay(Shard shard, String serverName) {
        this.shard = shard;
        this.serverName = serverName;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        client = ctx.channel();
        client.config().setAutoRead(false);
        byte[] host = serverName.getBytes(StandardCharsets.US_ASCII);
        ByteBuf key = Unpooled.buffer(host.length + 1).writeBytes(host).writeByte('/');
        Route route = shard.router.match(key, 0, host.length, host.length, host.length + 1);
        ShardEndpoint ep = route == null ? null : shard.backends[route.backend].pick(shard.nowMs);
        if (ep == null) {
            client.close();
            return;
        }
        Relay relay = new Relay();
        ChannelFuture f = shard.connectRaw(relay, ep.spec.address);
        upstream = f.channel();
        f.addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                shard.stats.upstreamConnectErrors++;
                client.close();
                return;
            }
            while (!pending.isEmpty()) {
                upstream.write(pending.poll());
            }
            upstream.flush();
            client.config().setAutoRead(true);
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (upstream == null || !upstream.isActive()) {
            pending.add((ByteBuf) msg);
            return;
        }
        upstream.write(msg);
        if (!upstream.isWritable()) {
            client.config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstream != null && upstream.isActive()) {
            upstream.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstream != null && client.isWritable()) {
            upstream.config().setAutoRead(true);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && upstream instanceof DuplexChannel d && d.isActive()) {
            d.shutdownOutput();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        if (upstream != null) {
            upstream.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private void release() {
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
    }

    /** The upstream side. */
    private final class Relay extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            client.write(msg);
            if (!client.isWritable()) {
                upstream.config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            client.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                client.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && client instanceof DuplexChannel d && d.isActive()) {
                d.shutdownOutput();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            client.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
