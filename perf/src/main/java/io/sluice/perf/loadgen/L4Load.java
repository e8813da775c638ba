package io.sluice.perf.loadgen;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DatagramPacket;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The L4 lab's origins and clients (perf/l4-lab.sh), on one Netty epoll loop each (the lab pins them to the load
 * CPU):
 *
 * <pre>
 *   echo-server  --port P [--udp]                       TCP echo (half-close aware) or UDP echo
 *   connect-rate --port P [--concurrency 64] [--duration 10] [--bytes 64]
 *                new connections per second: each connection connects, sends B bytes, reads them back, closes;
 *                C such connections are under way at any time
 *   udp-rate     --port P [--flows 64] [--duration 10] [--bytes 64]
 *                request/response datagrams per second: F client sockets, each sends one datagram and sends the
 *                next when the reply is back (a reply not back within 200 ms counts as lost and is re-sent)
 * </pre>
 *
 * Clients print one line, {@code result <name>=<value> errors=<n>}, after the run.
 */
public final class L4Load {
    private L4Load() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: L4Load echo-server|connect-rate|udp-rate --port P [options]");
            System.exit(2);
        }
        String mode = args[0];
        int port = 0;
        int concurrency = 64;
        int duration = 10;
        int bytes = 64;
        boolean udp = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--concurrency", "--flows" -> concurrency = Integer.parseInt(args[++i]);
                case "--duration" -> duration = Integer.parseInt(args[++i]);
                case "--bytes" -> bytes = Integer.parseInt(args[++i]);
                case "--udp" -> udp = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        switch (mode) {
            case "echo-server" -> {
                if (udp) {
                    udpEchoServer(group, port);
                } else {
                    tcpEchoServer(group, port);
                }
                Thread.currentThread().join();
            }
            case "connect-rate" -> new ConnectRate(group.next(), port, bytes).run(concurrency, duration);
            case "udp-rate" -> new UdpRate(group.next(), port, bytes).run(concurrency, duration);
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @ChannelHandler.Sharable
    static final class TcpEcho extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    static void tcpEchoServer(MultiThreadIoEventLoopGroup group, int port) throws InterruptedException {
        TcpEcho echo = new TcpEcho();
        new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 8192).option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true).childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(echo).bind(new InetSocketAddress("127.0.0.1", port)).sync();
    }

    static void udpEchoServer(MultiThreadIoEventLoopGroup group, int port) throws InterruptedException {
        new Bootstrap().group(group).channel(EpollDatagramChannel.class)
            .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .option(ChannelOption.SO_RCVBUF, 4 << 20).option(ChannelOption.SO_SNDBUF, 4 << 20)
            .handler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    DatagramPacket p = (DatagramPacket) msg;
                    ctx.write(new DatagramPacket(p.content(), p.sender()));
                }

                @Override
                public void channelReadComplete(ChannelHandlerContext ctx) {
                    ctx.flush();
                }
            }).bind(new InetSocketAddress("127.0.0.1", port)).sync();
    }

    /** Closed-loop connect/send/receive/close. All on one loop thread; counters are plain. */
    static final class ConnectRate {
        final EventLoop loop;
        final InetSocketAddress target;
        final int bytes;
        final Bootstrap bootstrap;
        long completed;
        long errors;
        volatile boolean stopping;

        ConnectRate(EventLoop loop, int port, int bytes) {
            this.loop = loop;
            this.target = new InetSocketAddress("127.0.0.1", port);
            this.bytes = bytes;
            this.bootstrap = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .option(EpollChannelOption.SO_LINGER, 0) // RST on close: no TIME_WAIT pile-up on the client side
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new One());
                    }
                });
        }

        final class One extends ChannelInboundHandlerAdapter {
            int got;
            boolean done;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ByteBuf b = ctx.alloc().directBuffer(bytes);
                b.writeZero(bytes);
                ctx.writeAndFlush(b);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                got += ((ByteBuf) msg).readableBytes();
                ((ByteBuf) msg).release();
                if (got >= bytes && !done) {
                    done = true;
                    completed++;
                    ctx.close();
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (!done) {
                    errors++;
                }
                next();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }

        void next() {
            if (stopping) {
                return;
            }
            bootstrap.connect(target).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    errors++;
                    loop.schedule(this::next, 1, TimeUnit.MILLISECONDS);
                }
            });
        }

        void run(int concurrency, int seconds) throws Exception {
            loop.submit(() -> {
                for (int i = 0; i < concurrency; i++) {
                    next();
                }
            }).sync();
            Thread.sleep(1000); // warm-up second, not counted
            long c0 = loop.submit(() -> completed).get();
            long t0 = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            long c1 = loop.submit(() -> completed).get();
            long t1 = System.nanoTime();
            stopping = true;
            long e = loop.submit(() -> errors).get();
            System.out.printf("result connections_per_s=%.0f errors=%d%n", (c1 - c0) / ((t1 - t0) / 1e9), e);
        }
    }

    /** Closed-loop UDP request/response over F client sockets. */
    static final class UdpRate {
        final EventLoop loop;
        final InetSocketAddress target;
        final int bytes;
        long replies;
        long lost;
        volatile boolean stopping;

        UdpRate(EventLoop loop, int port, int bytes) {
            this.loop = loop;
            this.target = new InetSocketAddress("127.0.0.1", port);
            this.bytes = bytes;
        }

        final class Flow extends ChannelInboundHandlerAdapter {
            Channel ch;
            long sentAtNanos;

            void send() {
                if (stopping) {
                    return;
                }
                ByteBuf b = ch.alloc().directBuffer(bytes);
                b.writeZero(bytes);
                sentAtNanos = System.nanoTime();
                ch.writeAndFlush(b);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof DatagramPacket p) {
                    p.release();
                } else {
                    ((ByteBuf) msg).release();
                }
                replies++;
                send();
            }
        }

        void run(int flows, int seconds) throws Exception {
            Flow[] all = new Flow[flows];
            for (int i = 0; i < flows; i++) {
                Flow f = new Flow();
                all[i] = f;
                f.ch = new Bootstrap().group(loop).channel(EpollDatagramChannel.class)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT).handler(f)
                    .connect(target).sync().channel();
            }
            loop.submit(() -> {
                for (Flow f : all) {
                    f.send();
                }
            }).sync();
            loop.scheduleAtFixedRate(() -> { // a reply lost (a full socket buffer drops datagrams): send again
                long now = System.nanoTime();
                for (Flow f : all) {
                    if (now - f.sentAtNanos > 200_000_000L) {
                        lost++;
                        f.send();
                    }
                }
            }, 50, 50, TimeUnit.MILLISECONDS);
            Thread.sleep(1000);
            long r0 = loop.submit(() -> replies).get();
            long t0 = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            long r1 = loop.submit(() -> replies).get();
            long t1 = System.nanoTime();
            stopping = true;
            long l = loop.submit(() -> lost).get();
            System.out.printf("result datagrams_per_s=%.0f errors=%d%n", (r1 - r0) / ((t1 - t0) / 1e9), l);
            for (Flow f : all) {
                f.ch.close();
            }
        }
    }
}
