package io.sluice.dataplane.proxy;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.sluice.dataplane.demo.DemoBackends;
import io.sluice.dataplane.proxy.TestSupport.Running;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HTTP/2 through the proxy with real peers: curl and nghttp/h2load (h2c prior knowledge) against HTTP/1.1 origins, and
 * grpc-java clients and servers for all four call types, 4 MiB messages, deadlines, cancellation and failures.
 */
@Timeout(120)
class Http2ProxyTest {
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type).setFullMethodName("test.Echo/" + name)
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> SLOW = method("Slow", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> FAIL = method("Fail", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> CLIENT_STREAM =
        method("Sum", MethodDescriptor.MethodType.CLIENT_STREAMING);
    static final MethodDescriptor<byte[], byte[]> SERVER_STREAM =
        method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
    static final MethodDescriptor<byte[], byte[]> BIDI = method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);
    static final MethodDescriptor<byte[], byte[]> BIG = method("Big", MethodDescriptor.MethodType.SERVER_STREAMING);
    static final java.util.concurrent.atomic.AtomicLong BIG_SENT = new java.util.concurrent.atomic.AtomicLong();

    private static DemoBackends origins;
    private static int originPort;
    private static Server grpcServer;
    private static Running proxy;
    private static ManagedChannel channel;
    static final CountDownLatch SLOW_CANCELLED = new CountDownLatch(1);
    static final CountDownLatch BIDI_CANCELLED = new CountDownLatch(1);

    static ServerServiceDefinition echoService() {
        return ServerServiceDefinition.builder("test.Echo")
            .addMethod(UNARY, ServerCalls.asyncUnaryCall((req, obs) -> {
                obs.onNext(req);
                obs.onCompleted();
            }))
            .addMethod(SLOW, ServerCalls.asyncUnaryCall((req, obs) -> {
                var ctx = io.grpc.Context.current();
                ctx.addListener(c -> SLOW_CANCELLED.countDown(), Runnable::run);
                // never answers: the client's deadline or cancellation ends it
            }))
            .addMethod(FAIL, ServerCalls.asyncUnaryCall((req, obs) ->
                obs.onError(Status.PERMISSION_DENIED.withDescription("nope").asRuntimeException())))
            .addMethod(CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(obs -> new StreamObserver<>() {
                long total;

                @Override
                public void onNext(byte[] v) {
                    total += v.length;
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    obs.onNext(Long.toString(total).getBytes(StandardCharsets.US_ASCII));
                    obs.onCompleted();
                }
            }))
            .addMethod(SERVER_STREAM, ServerCalls.asyncServerStreamingCall((req, obs) -> {
                int n = Integer.parseInt(new String(req, StandardCharsets.US_ASCII));
                for (int i = 0; i < n; i++) {
                    obs.onNext(("msg-" + i).getBytes(StandardCharsets.US_ASCII));
                }
                obs.onCompleted();
            }))
            .addMethod(BIG, ServerCalls.asyncServerStreamingCall((req, obs) -> {
                // 64 MiB in 64 KiB messages, sent only as fast as flow control lets them go
                var call = (io.grpc.stub.ServerCallStreamObserver<byte[]>) obs;
                int[] left = {1024};
                call.setOnReadyHandler(() -> {
                    while (call.isReady() && left[0] > 0) {
                        left[0]--;
                        call.onNext(new byte[64 * 1024]);
                        BIG_SENT.addAndGet(64 * 1024);
                    }
                    if (left[0] == 0) {
                        left[0] = -1;
                        call.onCompleted();
                    }
                });
            }))
            .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(obs -> new StreamObserver<>() {
                @Override
                public void onNext(byte[] v) {
                    obs.onNext(v);
                }

                @Override
                public void onError(Throwable t) {
                    BIDI_CANCELLED.countDown();
                }

                @Override
                public void onCompleted() {
                    obs.onCompleted();
                }
            }))
            .build();
    }

    @BeforeAll
    static void start() throws Exception {
        originPort = TestSupport.freePort();
        origins = DemoBackends.start(Map.of("origin", originPort));
        grpcServer = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(echoService()).maxInboundMessageSize(16 << 20).build().start();
        int deadPort = TestSupport.freePort();
        proxy = TestSupport.proxy("""
            listeners: [{port: PORT}]
            timeouts: {connectMs: 1000, readMs: 3000, idleMs: 5000}
            backends:
              - name: app
                endpoints: ["127.0.0.1:%d"]
              - name: grpc
                protocol: GRPC
                endpoints: ["127.0.0.1:%d"]
              - name: dead
                protocol: GRPC
                endpoints: ["127.0.0.1:%d"]
            routes:
              - host: app.test
                paths: [{path: /, type: Prefix, backend: app}]
              - host: grpc.test
                paths: [{path: /, type: Prefix, backend: grpc}]
              - host: dead.test
                paths: [{path: /, type: Prefix, backend: dead}]
            """.formatted(originPort, grpcServer.getPort(), deadPort), 2);
        channel = channel("grpc.test");
    }

    static ManagedChannel channel(String authority) {
        return Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(), InsecureChannelCredentials.create())
            .overrideAuthority(authority).maxInboundMessageSize(16 << 20).build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        proxy.close();
        grpcServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        origins.close();
        TestSupport.assertNoLeaks();
    }

    static boolean has(String tool) {
        boolean present = Arrays.stream(System.getenv("PATH").split(":"))
            .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError(tool + " is required in CI (.ci/run installs it)");
        }
        return present;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private String url(String path) {
        return "http://127.0.0.1:" + proxy.port() + path;
    }

    @Test
    void curlPriorKnowledgeToHttp11Origin() throws Exception {
        assumeTrue(has("curl"));
        String out = run("curl", "-sS", "-i", "--http2-prior-knowledge", "-H", "Host: app.test", url("/hello?x=1"));
        assertTrue(out.startsWith("HTTP/2 200"), out);
        assertTrue(out.contains("request: GET /hello?x=1"), out);
        assertTrue(out.contains("x-forwarded-proto: http") || out.contains("X-Forwarded-Proto: http"), out);
        assertTrue(out.toLowerCase().contains("via: 2 sluice"), out);
        // a body both ways (chunked upstream, since curl sends no content-length... it does; use -T for chunked)
        byte[] big = new byte[300_000];
        new java.util.Random(1).nextBytes(big);
        Path f = Files.createTempFile("h2body", ".bin");
        Files.write(f, big);
        Process p = new ProcessBuilder("curl", "-sS", "--http2-prior-knowledge", "-H", "Host: app.test",
            "--data-binary", "@" + f, url("/api/echo")).start();
        byte[] echoed = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertArrayEquals(big, tail(echoed, big.length));
        Process q = new ProcessBuilder("curl", "-sS", "--http2-prior-knowledge", "-H", "Host: app.test",
            "-H", "Transfer-Encoding: chunked", "-T", f.toString(), url("/api/echo")).start();
        byte[] echoed2 = q.getInputStream().readAllBytes();
        assertTrue(q.waitFor(30, TimeUnit.SECONDS));
        assertArrayEquals(big, tail(echoed2, big.length));
        Files.delete(f);
        String nf = run("curl", "-sS", "-i", "--http2-prior-knowledge", "-H", "Host: nowhere.test", url("/"));
        assertTrue(nf.startsWith("HTTP/2 404"), nf);
    }

    /** The demo origin's echo: a description of the request, then the body. */
    private static byte[] tail(byte[] b, int n) {
        assertTrue(b.length >= n, new String(b, 0, Math.min(b.length, 300), StandardCharsets.ISO_8859_1));
        String head = new String(b, 0, b.length - n, StandardCharsets.ISO_8859_1);
        assertTrue(head.contains("body-bytes: " + n), head);
        return Arrays.copyOfRange(b, b.length - n, b.length);
    }

    /** One gRPC-Web unary call over raw HTTP/2 frames; returns the response body (DATA frames joined). */
    private byte[] grpcWebCall(String contentType, byte[] body, StringBuilder responseType) throws Exception {
        try (H2Frames c = new H2Frames(proxy.port())) {
            java.io.ByteArrayOutputStream h = new java.io.ByteArrayOutputStream();
            h.write(0x83); // :method POST
            h.write(0x86); // :scheme http
            H2Frames.literal(h, 0x04, "/test.Echo/Unary");
            H2Frames.literal(h, 0x01, "grpc.test");
            H2Frames.literalNew(h, "content-type", contentType);
            H2Frames.literalNew(h, "x-grpc-web", "1");
            c.frame(H2Frames.HEADERS, H2Frames.END_HEADERS, 1, h.toByteArray());
            c.frame(H2Frames.DATA, H2Frames.END_STREAM, 1, body);
            c.flush();
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            H2Frames.Frame f;
            while ((f = c.read()) != null) {
                if (f.stream() == 1 && f.type() == H2Frames.HEADERS) {
                    var hs = c.decode(f);
                    if (hs.get("content-type") != null) {
                        responseType.append(hs.get("content-type"));
                    }
                    if ((f.flags() & H2Frames.END_STREAM) != 0) {
                        break;
                    }
                } else if (f.stream() == 1 && f.type() == H2Frames.DATA) {
                    out.writeBytes(f.payload());
                    if ((f.flags() & H2Frames.END_STREAM) != 0) {
                        break;
                    }
                }
            }
            return out.toByteArray();
        }
    }

    @Test
    void grpcWebAndGrpcWebTextAreTranslated() throws Exception {
        byte[] msg = {0, 0, 0, 0, 2, 'h', 'i'};
        StringBuilder type = new StringBuilder();
        byte[] body = grpcWebCall("application/grpc-web+proto", msg, type);
        assertEquals("application/grpc-web+proto", type.toString());
        assertArrayEquals(msg, Arrays.copyOf(body, 7), "the message frame");
        String trailer = new String(body, 12, body.length - 12, StandardCharsets.US_ASCII);
        assertEquals((byte) 0x80, body[7], "the trailer frame flag");
        assertTrue(trailer.contains("grpc-status:0\r\n"), trailer);

        StringBuilder ttype = new StringBuilder();
        byte[] tbody = grpcWebCall("application/grpc-web-text", java.util.Base64.getEncoder().encode(msg), ttype);
        assertEquals("application/grpc-web-text", ttype.toString());
        byte[] decoded = java.util.Base64.getDecoder().decode(tbody);
        assertArrayEquals(msg, Arrays.copyOf(decoded, 7));
        assertEquals((byte) 0x80, decoded[7]);
        assertTrue(new String(decoded, 12, decoded.length - 12, StandardCharsets.US_ASCII).contains("grpc-status:0"));
    }

    /** curl over HTTP/1.1 to a gRPC (HTTP/2) backend: the request is translated, gRPC-Web included. */
    @Test
    void http11ClientsReachHttp2BackendsGrpcWebIncluded() throws Exception {
        assumeTrue(has("curl"));
        byte[] msg = {0, 0, 0, 0, 2, 'h', 'i'};
        Path f = Files.createTempFile("grpcweb", ".bin");
        Files.write(f, msg);
        Path hdrs = Files.createTempFile("grpcweb", ".hdr");
        try {
            Process p = new ProcessBuilder("curl", "-sS", "--http1.1", "-D", hdrs.toString(), "-H", "Host: grpc.test",
                "-H", "content-type: application/grpc-web+proto", "-H", "x-grpc-web: 1", "--data-binary", "@" + f,
                url("/test.Echo/Unary")).start();
            byte[] body = p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            String head = Files.readString(hdrs);
            assertTrue(head.startsWith("HTTP/1.1 200"), head);
            assertTrue(head.toLowerCase().contains("content-type: application/grpc-web+proto"), head);
            assertArrayEquals(msg, Arrays.copyOf(body, 7), new String(body, StandardCharsets.ISO_8859_1));
            assertEquals((byte) 0x80, body[7]);
            assertTrue(new String(body, 12, body.length - 12, StandardCharsets.US_ASCII).contains("grpc-status:0"));

            Files.write(f, java.util.Base64.getEncoder().encode(msg));
            Process t = new ProcessBuilder("curl", "-sS", "--http1.1", "-H", "Host: grpc.test",
                "-H", "content-type: application/grpc-web-text", "-H", "Transfer-Encoding: chunked",
                "--data-binary", "@" + f, url("/test.Echo/Unary")).start();
            byte[] tbody = t.getInputStream().readAllBytes();
            assertTrue(t.waitFor(30, TimeUnit.SECONDS));
            String tText = new String(tbody, StandardCharsets.ISO_8859_1);
            assertTrue(tText.matches("[A-Za-z0-9+/=]+"), tText);
            byte[] decoded = java.util.Base64.getDecoder().decode(tbody);
            assertArrayEquals(msg, Arrays.copyOf(decoded, 7));
            assertTrue(new String(decoded, 12, decoded.length - 12, StandardCharsets.US_ASCII)
                .contains("grpc-status:0"));

            // an unreachable gRPC backend, over HTTP/1.1 (plain request): 502 from the proxy
            String dead = run("curl", "-sS", "-i", "--http1.1", "-H", "Host: dead.test", url("/x"));
            assertTrue(dead.startsWith("HTTP/1.1 502"), dead);
        } finally {
            Files.delete(f);
            Files.delete(hdrs);
        }
    }

    /** A client that does not read: Sluice holds a bounded amount (its windows), the backend is held back. */
    @Test
    void slowReaderIsBackpressuredEndToEnd() throws Exception {
        long before = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        try (H2Frames c = new H2Frames(proxy.port())) {
            java.io.ByteArrayOutputStream h = new java.io.ByteArrayOutputStream();
            h.write(0x83); // :method POST
            h.write(0x86); // :scheme http
            H2Frames.literal(h, 0x04, "/test.Echo/Big");
            H2Frames.literal(h, 0x01, "grpc.test");
            H2Frames.literalNew(h, "content-type", "application/grpc");
            H2Frames.literalNew(h, "te", "trailers");
            c.frame(H2Frames.HEADERS, H2Frames.END_HEADERS, 1, h.toByteArray());
            c.frame(H2Frames.DATA, H2Frames.END_STREAM, 1, new byte[] {0, 0, 0, 0, 0});
            c.flush();
            // read nothing for a while (the client's windows: 64 KiB per stream and per connection)
            Thread.sleep(1500);
            long held = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - before;
            long sent = BIG_SENT.get();
            assertTrue(sent < 4L << 20, "the backend was held back by flow control: sent " + sent);
            assertTrue(held < 8L << 20, "Sluice's buffers stayed bounded: " + held);
        }
    }

    /** TLS with ALPN h2: the same HTTP/2 server side behind the SslHandler (default certificate, hence -k). */
    @Test
    void alpnH2OverTls() throws Exception {
        assumeTrue(has("curl"));
        int tlsPort = TestSupport.freePort();
        Running p = TestSupport.proxy(TestSupport.routes(originPort).replace("listeners: [{port: PORT}]",
            "listeners: [{port: PORT}, {port: " + tlsPort + ", tls: true}]"), 1);
        try {
            String out = run("curl", "-sS", "-k", "-i", "--http2", "-H", "Host: app.test",
                "https://127.0.0.1:" + tlsPort + "/tls");
            assertTrue(out.startsWith("HTTP/2 200"), out);
            assertTrue(out.contains("request: GET /tls"), out);
            assertTrue(out.contains("x-forwarded-proto: https"), out);
            String h1 = run("curl", "-sS", "-k", "-i", "--http1.1", "-H", "Host: app.test",
                "https://127.0.0.1:" + tlsPort + "/tls1");
            assertTrue(h1.startsWith("HTTP/1.1 200"), h1);
        } finally {
            p.close();
        }
    }

    @Test
    void curlUpgradeH2c() throws Exception {
        assumeTrue(has("curl"));
        String out = run("curl", "-sS", "-i", "--http2", "-H", "Host: app.test", url("/up"));
        assertTrue(out.startsWith("HTTP/1.1 101"), out);
        assertTrue(out.contains("HTTP/2 200"), out);
        assertTrue(out.contains("request: GET /up"), out);
        // a request with a body is served as HTTP/1.1 (the upgrade is ignored)
        String post = run("curl", "-sS", "-i", "--http2", "-H", "Host: app.test", "-d", "x=1", url("/api/echo"));
        assertTrue(post.startsWith("HTTP/1.1 200"), post);
    }

    @Test
    void shutdownSendsGoAwayAndLetsStreamsFinish() throws Exception {
        Running p = TestSupport.proxy(TestSupport.routes(originPort), 1);
        try (H2Frames c = new H2Frames(p.port())) {
            c.get(1, "app.test", "/before");
            c.flush();
            assertEquals(200, c.awaitStatus(1));
            Thread t = new Thread(() -> p.dp().shutdown(3000));
            t.start();
            H2Frames.Frame g = c.awaitGoAway();
            assertTrue(g != null, "GOAWAY on shutdown");
            assertEquals(0, g.goAwayError(), "NO_ERROR");
            t.join(10_000);
        }
    }

    @Test
    void h2loadManyStreamsPerConnection() throws Exception {
        assumeTrue(has("h2load"));
        String out = run("h2load", "-n", "2000", "-c", "4", "-m", "16", "-H", ":authority: app.test", url("/"));
        assertTrue(out.contains("2000 succeeded"), out);
        assertTrue(out.contains("status codes: 2000 2xx"), out);
    }

    @Test
    void nghttpGet() throws Exception {
        assumeTrue(has("nghttp"));
        String out = run("nghttp", "-v", "-H", ":authority: app.test", url("/n"));
        assertTrue(out.contains(":status: 200"), out);
        assertTrue(out.contains("request: GET /n"), out);
    }

    @Test
    void grpcUnaryAndLargeMessages() {
        byte[] small = "hello".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(small, ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, small));
        byte[] big = new byte[4 << 20];
        new java.util.Random(2).nextBytes(big);
        assertArrayEquals(big, ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, big));
        for (int i = 0; i < 200; i++) {
            byte[] m = ("m" + i).getBytes(StandardCharsets.US_ASCII);
            assertArrayEquals(m, ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, m));
        }
    }

    @Test
    void grpcStatusFromBackendPassesThrough() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, FAIL, CallOptions.DEFAULT, new byte[1]));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertEquals("nope", e.getStatus().getDescription());
    }

    @Test
    void grpcStreamingCalls() throws Exception {
        // server streaming
        Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(channel, SERVER_STREAM, CallOptions.DEFAULT,
            "1000".getBytes(StandardCharsets.US_ASCII));
        int n = 0;
        while (it.hasNext()) {
            assertEquals("msg-" + n, new String(it.next(), StandardCharsets.US_ASCII));
            n++;
        }
        assertEquals(1000, n);
        // client streaming: 64 x 256 KiB
        LinkedBlockingQueue<Object> result = new LinkedBlockingQueue<>();
        StreamObserver<byte[]> req = io.grpc.stub.ClientCalls.asyncClientStreamingCall(
            channel.newCall(CLIENT_STREAM, CallOptions.DEFAULT), collector(result));
        for (int i = 0; i < 64; i++) {
            req.onNext(new byte[256 * 1024]);
        }
        req.onCompleted();
        Object r = result.poll(30, TimeUnit.SECONDS);
        assertEquals(Long.toString(64L * 256 * 1024), new String((byte[]) r, StandardCharsets.US_ASCII));
        // bidi: ping-pong 100 messages
        LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
        StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(BIDI, CallOptions.DEFAULT),
            collector(replies));
        for (int i = 0; i < 100; i++) {
            byte[] m = ("c" + i).getBytes(StandardCharsets.US_ASCII);
            chat.onNext(m);
            assertArrayEquals(m, (byte[]) replies.poll(10, TimeUnit.SECONDS));
        }
        chat.onCompleted();
        assertEquals("done", replies.poll(10, TimeUnit.SECONDS));
    }

    private static StreamObserver<byte[]> collector(LinkedBlockingQueue<Object> q) {
        return new StreamObserver<>() {
            @Override
            public void onNext(byte[] v) {
                q.add(v);
            }

            @Override
            public void onError(Throwable t) {
                q.add(t);
            }

            @Override
            public void onCompleted() {
                q.add("done");
            }
        };
    }

    @Test
    void grpcDeadlineAndCancellationReachTheBackend() throws Exception {
        ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, new byte[1]); // warm: class loading
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, SLOW,
                CallOptions.DEFAULT.withDeadlineAfter(1000, TimeUnit.MILLISECONDS), new byte[1]));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        // the backend's call ends too (grpc-timeout passed on, and RST_STREAM when the client gave up)
        assertTrue(SLOW_CANCELLED.await(5, TimeUnit.SECONDS));
    }

    @Test
    void grpcCancelPropagatesAsRstStream() throws Exception {
        ClientCall<byte[], byte[]> call = channel.newCall(BIDI, CallOptions.DEFAULT);
        LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
        StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(call, collector(replies));
        chat.onNext("x".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals("x".getBytes(StandardCharsets.US_ASCII), (byte[]) replies.poll(10, TimeUnit.SECONDS));
        call.cancel("test", null);
        Object r = replies.poll(10, TimeUnit.SECONDS);
        assertTrue(r instanceof StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.CANCELLED,
            String.valueOf(r));
        assertTrue(BIDI_CANCELLED.await(5, TimeUnit.SECONDS), "the backend saw the cancellation (RST_STREAM)");
        // the connection still serves
        assertArrayEquals(new byte[] {7}, ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT,
            new byte[] {7}));
    }

    @Test
    void unreachableGrpcBackendIsUnavailableTrailersOnly() throws Exception {
        ManagedChannel dead = channel("dead.test");
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(dead, UNARY, CallOptions.DEFAULT, new byte[1]));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
        } finally {
            dead.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        ManagedChannel none = channel("unknown.test");
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(none, UNARY, CallOptions.DEFAULT, new byte[1]));
            assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode(), e.toString());
        } finally {
            none.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void manyConcurrentCallsMultiplexOntoFewUpstreamConnections() throws Exception {
        List<com.google.common.util.concurrent.ListenableFuture<byte[]>> fs = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            fs.add(io.grpc.stub.ClientCalls.futureUnaryCall(channel.newCall(UNARY, CallOptions.DEFAULT),
                new byte[] {(byte) i}));
        }
        for (int i = 0; i < fs.size(); i++) {
            assertArrayEquals(new byte[] {(byte) i}, fs.get(i).get(30, TimeUnit.SECONDS));
        }
    }
}
