package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Real sockets on loopback: a scripted origin, a raw HTTP client, and a running data plane. */
final class TestSupport {
    /** Buffer leaks seen by Netty's detector (paranoid in tests, see the surefire config): must stay empty. */
    static final java.util.List<String> LEAKS = new java.util.concurrent.CopyOnWriteArrayList<>();

    static {
        io.netty.util.ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(
            new io.netty.util.ResourceLeakDetectorFactory() {
                @Override
                @SuppressWarnings("deprecation")
                public <T> io.netty.util.ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource,
                                                                                        int samplingInterval,
                                                                                        long maxActive) {
                    return new io.netty.util.ResourceLeakDetector<T>(resource, samplingInterval, maxActive) {
                        @Override
                        protected void reportTracedLeak(String resourceType, String records) {
                            LEAKS.add(resourceType + records);
                        }

                        @Override
                        protected void reportUntracedLeak(String resourceType) {
                            LEAKS.add(resourceType);
                        }
                    };
                }
            });
    }

    private TestSupport() {
    }

    /** Provokes the leak detector (GC, then allocations that poll its queue) and fails on any leak it reports. */
    static void assertNoLeaks() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            for (int j = 0; j < 200; j++) {
                io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            }
        }
        if (!LEAKS.isEmpty()) {
            throw new AssertionError(LEAKS.size() + " buffer leak(s), first: " + LEAKS.get(0));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    /** Starts a data plane whose config is {@code yaml} with {@code PORT} replaced by a free port. */
    static Running proxy(String yaml, int shards) throws Exception {
        int port = freePort();
        DataPlaneConfig c = ConfigLoader.parse(yaml.replace("PORT", Integer.toString(port)), 0);
        int[] cpus = new int[shards];
        for (int i = 0; i < shards; i++) {
            cpus[i] = i % Runtime.getRuntime().availableProcessors();
        }
        return new Running(DataPlane.start(c.withCpus(cpus)), port);
    }

    record Running(DataPlane dp, int port) implements AutoCloseable {
        @Override
        public void close() {
            dp.close();
        }
    }

    /** A request as an origin saw it. */
    record Seen(String requestLine, Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? null : String.join(",", v);
        }
    }

    /** What a scripted origin does with one request on a connection; return false to close the connection. */
    interface Script {
        boolean respond(Seen req, OutputStream out) throws Exception;
    }

    /** A blocking origin server, one thread per connection, recording every request it receives. */
    static final class Origin implements AutoCloseable {
        final ServerSocket server;
        final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        final AtomicInteger connections = new AtomicInteger();
        private final ExecutorService pool = Executors.newCachedThreadPool();
        private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile Script script;

        Origin(Script script) throws IOException {
            this(script, new ServerSocket());
        }

        /** An origin on {@code unbound} (e.g. a TLS server socket), bound here to a free loopback port. */
        Origin(Script script, ServerSocket unbound) throws IOException {
            this.script = script;
            server = unbound;
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            pool.submit(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        void script(Script s) {
            script = s;
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    sockets.add(s);
                    pool.submit(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    String line = readLine(in);
                    if (line == null) {
                        return;
                    }
                    Map<String, List<String>> headers = readHeaders(in);
                    List<String> expect = headers.get("expect");
                    if (expect != null && expect.get(0).equalsIgnoreCase("100-continue")) {
                        out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    Seen r = new Seen(line, headers, readBody(in, headers, false));
                    seen.add(r);
                    if (!script.respond(r, out)) {
                        return;
                    }
                    out.flush();
                }
            } catch (Exception e) {
                // connection ended, or the script was interrupted at close
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
            pool.shutdownNow();
        }
    }

    /** Answers 200 with a body naming the origin and echoing the request body; keeps the connection. */
    static Script ok(String name) {
        return (req, out) -> {
            byte[] body = ("origin=" + name + " " + req.requestLine() + " body=" + req.body().length + "\n")
                .getBytes(StandardCharsets.US_ASCII);
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\nX-Origin: " + name + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            return true;
        };
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                byte[] a = b.toByteArray();
                int len = a.length > 0 && a[a.length - 1] == '\r' ? a.length - 1 : a.length;
                return new String(a, 0, len, StandardCharsets.ISO_8859_1);
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads one request (head and body by Content-Length or chunked); null at end of stream. */
    static Seen readRequest(InputStream in) throws IOException {
        String line = readLine(in);
        if (line == null) {
            return null;
        }
        Map<String, List<String>> headers = readHeaders(in);
        byte[] body = readBody(in, headers, false);
        return new Seen(line, headers, body);
    }

    static Map<String, List<String>> readHeaders(InputStream in) throws IOException {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String h;
        while ((h = readLine(in)) != null && !h.isEmpty()) {
            int colon = h.indexOf(':');
            headers.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .add(h.substring(colon + 1).trim());
        }
        return headers;
    }

    static byte[] readBody(InputStream in, Map<String, List<String>> headers, boolean untilClose) throws IOException {
        List<String> te = headers.get("transfer-encoding");
        if (te != null && te.get(te.size() - 1).equalsIgnoreCase("chunked")) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                String size = readLine(in);
                int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) {
                    while (!readLine(in).isEmpty()) {
                        // trailers
                    }
                    return b.toByteArray();
                }
                b.write(in.readNBytes(n));
                readLine(in);
            }
        }
        List<String> cl = headers.get("content-length");
        if (cl != null) {
            return in.readNBytes(Integer.parseInt(cl.get(0)));
        }
        return untilClose ? in.readAllBytes() : new byte[0];
    }

    /** A response as the client saw it. */
    record Response(int status, Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? null : String.join(",", v);
        }

        String text() {
            return new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    /** A raw client connection to the proxy. */
    static final class Client implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Client(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        Client send(String raw) throws IOException {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return this;
        }

        Response read(boolean headRequest) throws IOException {
            String status = readLine(in);
            if (status == null) {
                return null;
            }
            Map<String, List<String>> h = readHeaders(in);
            int code = Integer.parseInt(status.substring(9, 12));
            byte[] body = headRequest || code == 204 || code == 304 || code < 200 ? new byte[0]
                : readBody(in, h, true);
            return new Response(code, h, body);
        }

        Response read() throws IOException {
            return read(false);
        }

        /** True when the proxy closed the connection (EOF) within the socket timeout. */
        boolean closedByPeer() throws IOException {
            try {
                return in.read() == -1;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true; // reset
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static String routes(int... originPorts) {
        StringBuilder eps = new StringBuilder();
        for (int p : originPorts) {
            eps.append("\"127.0.0.1:").append(p).append("\",");
        }
        return """
            listeners: [{port: PORT}]
            timeouts: {connectMs: 1000, readMs: 1500, idleMs: 5000}
            limits: {maxRequestLineBytes: 1024, maxHeaderBytes: 4096, maxHeaderCount: 20, maxBodyBytes: 33554432}
            backends:
              - name: app
                endpoints: [%s]
            routes:
              - host: app.test
                paths: [{path: /, type: Prefix, backend: app}]
            """.formatted(eps);
    }

    static void awaitTrue(java.util.function.BooleanSupplier c, long millis) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!c.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(10);
        }
    }
}
