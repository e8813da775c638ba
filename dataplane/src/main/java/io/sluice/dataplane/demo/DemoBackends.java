package io.sluice.dataplane.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Small HTTP origins for the demo and for tests: each answers with its own name, what it received (method, path,
 * Host, the forwarding headers the proxy added) and echoes a request body. Runs on its own event loop, not a shard's.
 */
public final class DemoBackends implements AutoCloseable {
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final List<Channel> channels = new ArrayList<>();

    /** Starts one origin per entry: name → port on 127.0.0.1. */
    public static DemoBackends start(Map<String, Integer> namesToPorts) throws InterruptedException {
        DemoBackends d = new DemoBackends();
        try {
            for (Map.Entry<String, Integer> e : namesToPorts.entrySet()) {
                d.channels.add(d.bind(e.getKey(), e.getValue()));
            }
        } catch (RuntimeException | InterruptedException ex) {
            d.close();
            throw ex;
        }
        return d;
    }

    private Channel bind(String name, int port) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
            .childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(),
                        new HttpObjectAggregator(16 * 1024 * 1024), new Responder(name));
                }
            })
            .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    }

    @Override
    public void close() {
        for (Channel c : channels) {
            c.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Responder extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String name;

        Responder(String name) {
            this.name = name;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            StringBuilder sb = new StringBuilder();
            sb.append("backend: ").append(name).append('\n');
            sb.append("request: ").append(req.method()).append(' ').append(req.uri()).append('\n');
            sb.append("host: ").append(req.headers().get(HttpHeaderNames.HOST)).append('\n');
            for (String h : new String[] {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                "X-Forwarded-Port", "Via"}) {
                String v = req.headers().get(h);
                if (v != null) {
                    sb.append(h.toLowerCase(java.util.Locale.ROOT)).append(": ").append(v).append('\n');
                }
            }
            ByteBuf body = req.content();
            if (body.isReadable()) {
                sb.append("body-bytes: ").append(body.readableBytes()).append('\n');
            }
            ByteBuf text = Unpooled.copiedBuffer(sb, StandardCharsets.UTF_8);
            ByteBuf content = body.isReadable() && req.uri().contains("echo")
                ? Unpooled.wrappedBuffer(text, body.retain()) : text;
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, content);
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            resp.headers().set("X-Backend", name);
            HttpUtil.setContentLength(resp, content.readableBytes());
            HttpUtil.setKeepAlive(resp, HttpUtil.isKeepAlive(req));
            ctx.writeAndFlush(resp);
        }
    }
}
