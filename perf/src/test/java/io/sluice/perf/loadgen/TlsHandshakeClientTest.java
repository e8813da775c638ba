package io.sluice.perf.loadgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the handshake client against a real TLS server in this JVM (Netty + BoringSSL, an ECDSA P-256
 * certificate made by the {@code openssl} command) and checks that it counts what happened: full
 * handshakes are full, resumed ones resumed, and a server that cannot resume is reported as such.
 */
class TlsHandshakeClientTest {

    @TempDir
    static Path dir;
    static File cert;
    static File key;
    static MultiThreadIoEventLoopGroup group;

    @BeforeAll
    static void makeCertificate() throws Exception {
        cert = dir.resolve("ecdsa.crt").toFile();
        key = dir.resolve("ecdsa.key").toFile();
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.getPath(), "-out", cert.getPath(), "-days", "2",
            "-subj", "/CN=bench.local", "-addext", "subjectAltName=DNS:bench.local")
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl failed: " + out);
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A TLS server answering each request with a 13-byte body and closing; counts requests. */
    private static final class Server implements AutoCloseable {
        final Channel channel;
        final AtomicLong requests = new AtomicLong();

        /**
         * With {@code resumption}, fixed ticket keys. Without, the session cache is off and every new connection
         * gets new random ticket keys, so no ticket a client offers can be decrypted any more: a server that
         * forgets its keys, as after a restart.
         */
        Server(boolean resumption) throws Exception {
            SslContext ctx = SslContextBuilder.forServer(cert, key).sslProvider(SslProvider.OPENSSL)
                .protocols("TLSv1.3", "TLSv1.2").build();
            OpenSslSessionContext sessions = (OpenSslSessionContext) ctx.sessionContext();
            sessions.setTicketKeys(randomTicketKey());
            if (!resumption) {
                sessions.setSessionCacheEnabled(false);
            }
            channel = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (!resumption) {
                            sessions.setTicketKeys(randomTicketKey());
                        }
                        ch.pipeline().addLast(ctx.newHandler(ch.alloc()), new Responder(requests));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        }

        private static OpenSslSessionTicketKey randomTicketKey() {
            SecureRandom random = new SecureRandom();
            byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
            byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
            byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
            random.nextBytes(name);
            random.nextBytes(hmac);
            random.nextBytes(aes);
            return new OpenSslSessionTicketKey(name, hmac, aes);
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    private static final class Responder extends ChannelInboundHandlerAdapter {
        private static final byte[] RESPONSE = ("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"
            + "hello, world\n").getBytes(StandardCharsets.US_ASCII);
        private final AtomicLong requests;
        private final StringBuilder head = new StringBuilder();

        Responder(AtomicLong requests) {
            this.requests = requests;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                head.append(in.toString(StandardCharsets.US_ASCII));
            } finally {
                in.release();
            }
            if (head.indexOf("\r\n\r\n") >= 0) {
                requests.incrementAndGet();
                ctx.writeAndFlush(Unpooled.wrappedBuffer(RESPONSE)).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // clients closing at once after the response may reset: not the test's concern
        }
    }

    private static TlsLoadOptions options(int port, String mode, boolean tls12) {
        String[] args = {"--mode", mode, "-c", "4", "-w", "300ms", "-d", "1s", "--timeout", "2s",
            "https://bench.local:" + port + "/"};
        if (tls12) {
            String[] more = new String[args.length + 1];
            more[0] = "--tls12";
            System.arraycopy(args, 0, more, 1, args.length);
            args = more;
        }
        // bench.local does not resolve: connect to loopback, keep the name for SNI and Host. This JVM is the
        // server: its CPU time is sampled like a separate server's would be.
        return TlsLoadOptions.parse(args).withHost("127.0.0.1").withServerPids((int) ProcessHandle.current().pid());
    }

    @Test
    void fullModeNeverResumes() throws Exception {
        try (Server server = new Server(true)) {
            TlsLoadResult r = new TlsHandshakeClient(options(server.port(), "full", false)).run();
            assertTrue(r.handshakes() > 20, r.machineLine());
            assertEquals(0, r.resumed(), r.machineLine());
            assertEquals(0, r.errors(), r.machineLine());
            assertTrue(r.exchanges() >= r.handshakes() - 4, r.machineLine()); // every handshake carries a request
            assertTrue(r.modeHeld(), r.machineLine());
            assertTrue(server.requests.get() >= r.exchanges(), r.machineLine());
            assertTrue(r.handshakeTime().getTotalCount() == r.handshakes(), r.machineLine());
            assertTrue(r.machineLine().contains("mode=full protocol=TLSv1.3 "), r.machineLine());
            assertTrue(r.serverCpuSeconds() > 0 && r.handshakesPerServerCpuSecond() > 0, r.machineLine());
            assertTrue(r.clientCpuSeconds() > 0, r.machineLine());
            assertTrue(r.tlsLibrary().startsWith("BoringSSL (netty-tcnative 2.0."), r.tlsLibrary());
        }
    }

    @Test
    void resumedModeResumesAlmostEveryHandshakeWithTls13Tickets() throws Exception {
        try (Server server = new Server(true)) {
            TlsLoadResult r = new TlsHandshakeClient(options(server.port(), "resumed", false)).run();
            assertTrue(r.handshakes() > 20, r.machineLine());
            assertEquals(0, r.errors(), r.machineLine());
            assertEquals(0, r.unprimedSlots(), r.machineLine()); // the window opened with a session in every slot
            assertTrue(r.resumedShare() >= 0.9, r.machineLine());
            assertTrue(r.modeHeld(), r.machineLine());
        }
    }

    @Test
    void resumedModeWorksWithTls12() throws Exception {
        try (Server server = new Server(true)) {
            TlsLoadResult r = new TlsHandshakeClient(options(server.port(), "resumed", true)).run();
            assertTrue(r.handshakes() > 20, r.machineLine());
            assertEquals(0, r.errors(), r.machineLine());
            assertTrue(r.resumedShare() >= 0.9, r.machineLine());
            assertTrue(r.machineLine().contains("protocol=TLSv1.2 "), r.machineLine());
        }
    }

    @Test
    void aServerThatDoesNotResumeIsReportedLoudly() throws Exception {
        try (Server server = new Server(false)) {
            TlsLoadResult r = new TlsHandshakeClient(options(server.port(), "resumed", false)).run();
            assertTrue(r.handshakes() > 20, r.machineLine());
            assertEquals(0, r.resumed(), r.machineLine());
            assertFalse(r.modeHeld(), r.machineLine());
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            r.print(new java.io.PrintStream(bytes, true, StandardCharsets.UTF_8));
            String printed = bytes.toString(StandardCharsets.UTF_8);
            assertTrue(printed.contains("RESUMPTION FAILED"), printed);
            assertTrue(printed.contains("mode_held=false"), printed);
        }
    }

    @Test
    void aPlainHttpServerIsATlsErrorNotASuccess() throws Exception {
        // Something that is not TLS on the port: every handshake fails, none is counted.
        Channel plain = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ((ByteBuf) msg).release();
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(
                        "485454502f312e3120343030204261640d0a0d0a"))).addListener(ChannelFutureListener.CLOSE);
                }

                @Override
                public boolean isSharable() {
                    return true;
                }
            })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        try {
            int port = ((InetSocketAddress) plain.localAddress()).getPort();
            TlsLoadResult r = new TlsHandshakeClient(options(port, "full", false)).run();
            assertEquals(0, r.handshakes(), r.machineLine());
            assertTrue(r.errors() > 0, r.machineLine());
            assertFalse(r.modeHeld(), r.machineLine());
        } finally {
            plain.close().syncUninterruptibly();
        }
    }
}
