package io.sluice.dataplane.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A route-table change that drops an HTTP/2 backend's endpoint sends GOAWAY on the upstream connections to it. */
@Timeout(60)
class Http2RouteChangeTest {
    /** A tiny h2c origin (our Netty) that answers 200 and records a GOAWAY from its client. */
    static final class Origin implements AutoCloseable {
        final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        final CountDownLatch goAway = new CountDownLatch(1);
        final Channel server;

        Origin() throws InterruptedException {
            server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Http2ConnectionHandler[] h = new Http2ConnectionHandler[1];
                        h[0] = new Http2ConnectionHandlerBuilder().server(true).frameListener(new Http2FrameAdapter() {
                            @Override
                            public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers,
                                                      int padding, boolean end) {
                                h[0].encoder().writeHeaders(ctx, id, new DefaultHttp2Headers().status("200"), 0,
                                    true, ctx.newPromise());
                                ctx.flush();
                            }

                            @Override
                            public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers,
                                                      int dep, short w, boolean ex, int padding, boolean end) {
                                onHeadersRead(ctx, id, headers, padding, end);
                            }

                            @Override
                            public void onGoAwayRead(ChannelHandlerContext ctx, int last, long code, ByteBuf data) {
                                goAway.countDown();
                            }
                        }).build();
                        ch.pipeline().addLast(h[0]);
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        }

        int port() {
            return ((InetSocketAddress) server.localAddress()).getPort();
        }

        @Override
        public void close() {
            server.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static RouteTable table(long gen, int port) {
        return new RouteTable(gen,
            List.of(new VirtualHost("h2.test", List.of(new PathRule("/", PathType.PREFIX, 0, "t")))),
            List.of(new Backend("h2", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", port)),
                BackendProtocol.H2C)),
            -1);
    }

    @Test
    void removedEndpointGetsGoAwayAndTrafficMoves() throws Exception {
        try (Origin a = new Origin(); Origin b = new Origin()) {
            int port = TestSupport.freePort();
            DataPlaneConfig c = ConfigLoader.parse("listeners: [{port: " + port + "}]\n", 0)
                .withRoutes(table(1, a.port())).withCpus(new int[] {0});
            try (DataPlane dp = DataPlane.start(c); H2Frames client = new H2Frames(port)) {
                client.get(1, "h2.test", "/one");
                client.flush();
                assertEquals(200, client.awaitStatus(1));
                dp.update(table(2, b.port()));
                assertTrue(a.goAway.await(5, TimeUnit.SECONDS), "GOAWAY to the endpoint the table dropped");
                client.get(3, "h2.test", "/two");
                client.flush();
                assertEquals(200, client.awaitStatus(3));
                assertEquals(1, b.goAway.getCount(), "the new endpoint's connection stays");
            }
        }
    }
}
