package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.proxy.TestSupport.Client;
import io.sluice.dataplane.proxy.TestSupport.Origin;
import io.sluice.dataplane.proxy.TestSupport.Response;
import io.sluice.dataplane.proxy.TestSupport.Running;
import io.sluice.dataplane.proxy.TestSupport.Seen;
import io.sluice.dataplane.shard.CpuAffinity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.sluice.dataplane.proxy.TestSupport.ok;
import static io.sluice.dataplane.proxy.TestSupport.proxy;
import static io.sluice.dataplane.proxy.TestSupport.routes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ProxyIntegrationTest {
    private static final String GET = "GET %s HTTP/1.1\r\nHost: app.test\r\n\r\n";

    @Test
    void forwardsWithProxyHeadersAndDropsHopByHop() throws Exception {
        try (Origin o = new Origin((req, out) -> {
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Up-Hop\r\n"
                + "Keep-Alive: timeout=5\r\nX-Up-Hop: 1\r\nX-Kept: yes\r\n\r\nok").getBytes(StandardCharsets.US_ASCII));
            return true;
        }); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("GET /p?q=1 HTTP/1.1\r\nHost: App.Test:" + p.port() + "\r\nConnection: keep-alive, X-Hop\r\n"
                + "X-Hop: secret\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
                + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nUser-Agent: t\r\n\r\n");
            Response r = c.read();
            assertEquals(200, r.status());
            assertEquals("ok", r.text());
            assertEquals("yes", r.header("X-Kept"));
            assertNull(r.header("X-Up-Hop"));
            assertNull(r.header("Keep-Alive"));
            assertNull(r.header("Connection"));
            assertEquals("1.1 sluice", r.header("Via"));

            Seen s = o.seen.poll();
            assertEquals("GET /p?q=1 HTTP/1.1", s.requestLine());
            assertEquals("App.Test:" + p.port(), s.header("Host"), "Host preserved");
            assertEquals("127.0.0.1", s.header("X-Forwarded-For"), "client-supplied XFF is not trusted by default");
            assertEquals("http", s.header("X-Forwarded-Proto"));
            assertEquals("App.Test:" + p.port(), s.header("X-Forwarded-Host"));
            assertEquals(Integer.toString(p.port()), s.header("X-Forwarded-Port"));
            assertEquals("1.1 sluice", s.header("Via"));
            assertEquals("t", s.header("User-Agent"));
            for (String hop : new String[] {"Connection", "X-Hop", "Keep-Alive", "TE", "Proxy-Connection"}) {
                assertNull(s.header(hop), hop + " must not be forwarded");
            }
        }
    }

    @Test
    void absoluteFormIsForwardedInOriginForm() throws Exception {
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("GET http://app.test/abs?x HTTP/1.1\r\nHost: ignored.example\r\n\r\n");
            assertEquals(200, c.read().status());
            Seen s = o.seen.poll();
            assertEquals("GET /abs?x HTTP/1.1", s.requestLine());
            assertEquals("app.test", s.header("Host"));
        }
    }

    @Test
    void keepAliveAndPipelinedRequestsInOrderOverOneUpstreamConnection() throws Exception {
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send(GET.formatted("/one") + GET.formatted("/two") + GET.formatted("/three"));
            assertTrue(c.read().text().contains("GET /one "));
            assertTrue(c.read().text().contains("GET /two "));
            assertTrue(c.read().text().contains("GET /three "));
            c.send(GET.formatted("/four"));
            assertTrue(c.read().text().contains("GET /four "));
            assertEquals(1, o.connections.get(), "one pooled upstream connection serves them all");
        }
    }

    @Test
    void streamsLargeBodiesBothWaysWithContentLengthAndChunked() throws Exception {
        byte[] big = new byte[12 * 1024 * 1024];
        new Random(7).nextBytes(big);
        try (Origin o = new Origin((req, out) -> {
            // Echo the request body back, chunked when the request was chunked.
            boolean chunked = req.header("Transfer-Encoding") != null;
            if (chunked) {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < req.body().length; i += 100_000) {
                    int n = Math.min(100_000, req.body().length - i);
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(req.body(), i, n);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            } else {
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + req.body().length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
                out.write(req.body());
            }
            return true;
        }); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("PUT /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: " + big.length + "\r\n\r\n");
            c.out.write(big);
            Response r = c.read();
            assertEquals(200, r.status());
            assertArrayEquals(sha(big), sha(r.body()));

            c.send("POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < big.length; i += 65_536) {
                int n = Math.min(65_536, big.length - i);
                c.out.write((Integer.toHexString(n) + ";ext=y\r\n").getBytes(StandardCharsets.US_ASCII));
                c.out.write(big, i, n);
                c.out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            c.send("0\r\nX-Trailer: t\r\n\r\n");
            r = c.read();
            assertEquals(200, r.status());
            assertEquals("chunked", r.header("Transfer-Encoding"));
            assertArrayEquals(sha(big), sha(r.body()));
            assertEquals(1, o.connections.get());
        }
    }

    @Test
    void smugglingAttemptIsRejectedAndNothingReachesTheOrigin() throws Exception {
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n");
            Response r = c.read();
            assertEquals(400, r.status());
            assertEquals("close", r.header("Connection"));
            assertTrue(c.closedByPeer(), "connection closed after the 400");
            Thread.sleep(100);
            assertTrue(o.seen.isEmpty(), "origin saw nothing");
        }
    }

    @Test
    void limitsAnswerWithTheRightStatusAndClose() throws Exception {
        Map<String, Integer> cases = Map.of(
            "GET /" + "a".repeat(2000) + " HTTP/1.1\r\nHost: app.test\r\n\r\n", 414,
            "GET / HTTP/1.1\r\nHost: app.test\r\nX: " + "b".repeat(5000) + "\r\n\r\n", 431,
            "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 99999999999\r\n\r\n", 413,
            "POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
            "GET / HTTP/1.1\r\nHost: app.test\r\nX: a\r\n folded\r\n\r\n", 400,
            "GET / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
            "GET / HTTP/3.0\r\nHost: app.test\r\n\r\n", 505,
            "POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1)) {
            for (Map.Entry<String, Integer> e : cases.entrySet()) {
                try (Client c = new Client(p.port())) {
                    c.send(e.getKey());
                    Response r = c.read();
                    assertNotNull(r, "a response for " + e.getValue());
                    assertEquals(e.getValue(), r.status(), e.getKey().substring(0, 30));
                    assertTrue(c.closedByPeer(), "closed after " + e.getValue());
                }
            }
            // Only the chunked case reached the origin? No: its body was bad before the request was complete, so
            // nothing of it may have been answered by the origin.
            Thread.sleep(100);
            assertTrue(o.seen.isEmpty(), "no malformed request answered by the origin: " + o.seen);
            // The proxy still serves.
            try (Client c = new Client(p.port())) {
                assertEquals(200, c.send(GET.formatted("/fine")).read().status());
            }
        }
    }

    @Test
    void notFoundKeepsTheConnectionAndDefaultBackendCatchesTheRest() throws Exception {
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
            assertEquals(404, c.read().status());
            c.send(GET.formatted("/after"));
            assertEquals(200, c.read().status());
        }
        try (Origin o = new Origin(ok("fallback")); Running p = proxy(routes(o.port()) + "defaultBackend: app\n", 1);
             Client c = new Client(p.port())) {
            c.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
            assertTrue(c.read().text().contains("origin=fallback"));
        }
    }

    @Test
    void upstreamFailuresMapTo502503504() throws Exception {
        int closedPort = TestSupport.freePort();
        try (Running p = proxy(routes(closedPort), 1); Client c = new Client(p.port())) {
            assertEquals(502, c.send(GET.formatted("/")).read().status());
            assertEquals(502, c.send(GET.formatted("/")).read().status(), "connection kept after a 502");
        }
        try (Origin silent = new Origin((req, out) -> {
            Thread.sleep(5_000);
            return false;
        }); Running p = proxy(routes(silent.port()), 1); Client c = new Client(p.port())) {
            long t0 = System.nanoTime();
            assertEquals(504, c.send(GET.formatted("/slow")).read().status());
            assertTrue(System.nanoTime() - t0 < 4_000_000_000L, "read timeout (1.5 s) applied");
        }
        String empty = routes(1).replace("\"127.0.0.1:1\",", "");
        try (Running p = proxy(empty, 1); Client c = new Client(p.port())) {
            assertEquals(503, c.send(GET.formatted("/")).read().status());
        }
    }

    @Test
    void expectContinueIsRelayed() throws Exception {
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            c.send("POST /e HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            Response interim = c.read();
            assertEquals(100, interim.status());
            c.send("hello");
            Response r = c.read();
            assertEquals(200, r.status());
            assertTrue(r.text().contains("body=5"));
        }
    }

    @Test
    void upgradeBecomesATunnel() throws Exception {
        java.net.ServerSocket echo = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (java.net.Socket s = echo.accept()) {
                var in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                Seen req = TestSupport.readRequest(in);
                if (!"websocket".equals(req.header("Upgrade")) || !"upgrade".equalsIgnoreCase(req.header("Connection"))) {
                    out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    return;
                }
                out.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                byte[] buf = new byte[4];
                int n = in.readNBytes(buf, 0, 4);
                out.write(("echo:" + new String(buf, 0, n, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (Exception e) {
                // test fails on the client side
            }
        });
        t.start();
        try (echo; Running p = proxy(routes(echo.getLocalPort()), 1); Client c = new Client(p.port())) {
            c.send("GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
            String status = TestSupport.readLine(c.in);
            assertEquals("HTTP/1.1 101 Switching Protocols", status);
            Map<String, List<String>> h = TestSupport.readHeaders(c.in);
            assertEquals("websocket", String.join(",", h.get("upgrade")));
            c.send("ping");
            assertEquals("echo:ping", new String(c.in.readNBytes(9), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void closeDelimitedResponseIsRelayedAndClosesTheClient() throws Exception {
        try (Origin o = new Origin((req, out) -> {
            out.write("HTTP/1.0 200 OK\r\n\r\nuntil-close body".getBytes(StandardCharsets.US_ASCII));
            return false;
        }); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            Response r = c.send(GET.formatted("/")).read();
            assertEquals(200, r.status());
            assertEquals("close", r.header("Connection"));
            assertEquals("until-close body", r.text());
        }
    }

    @Test
    void staleKeepAliveConnectionIsRetriedForIdempotentRequests() throws Exception {
        // The origin closes after every response without saying so: each next request meets a dead pooled connection.
        try (Origin o = new Origin((req, out) -> {
            ok("a").respond(req, out);
            out.flush();
            return false;
        }); Running p = proxy(routes(o.port()), 1); Client c = new Client(p.port())) {
            for (int i = 0; i < 20; i++) {
                assertEquals(200, c.send(GET.formatted("/r" + i)).read().status(), "request " + i);
            }
        }
    }

    @Test
    void roundRobinAndWeightedSpreadRequests() throws Exception {
        try (Origin a = new Origin(ok("a")); Origin b = new Origin(ok("b"));
             Running p = proxy(routes(a.port(), b.port()), 1); Client c = new Client(p.port())) {
            for (int i = 0; i < 10; i++) {
                assertEquals(200, c.send(GET.formatted("/")).read().status());
            }
            assertEquals(5, a.seen.size());
            assertEquals(5, b.seen.size());
        }
        try (Origin a = new Origin(ok("a")); Origin b = new Origin(ok("b"))) {
            String yaml = routes(1).replace("endpoints: [\"127.0.0.1:1\",]",
                "balancer: weighted\n    endpoints: [{address: \"127.0.0.1:" + a.port() + "\", weight: 3}, "
                    + "{address: \"127.0.0.1:" + b.port() + "\", weight: 1}]");
            try (Running p = proxy(yaml, 1); Client c = new Client(p.port())) {
                for (int i = 0; i < 40; i++) {
                    assertEquals(200, c.send(GET.formatted("/")).read().status());
                }
                assertEquals(30, a.seen.size());
                assertEquals(10, b.seen.size());
            }
        }
    }

    @Test
    void routeSwapsUnderTrafficLoseNothing() throws Exception {
        try (Origin a = new Origin(ok("a")); Origin b = new Origin(ok("b"));
             Running p = proxy(routes(a.port()), 2)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger okCount = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] clients = new Thread[4];
            for (int t = 0; t < clients.length; t++) {
                clients[t] = new Thread(() -> {
                    try (Client c = new Client(p.port())) {
                        while (!stop.get()) {
                            Response r = c.send(GET.formatted("/swap")).read();
                            if (r == null || r.status() != 200) {
                                throw new AssertionError("failed request: " + (r == null ? "closed" : r.status()));
                            }
                            okCount.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                clients[t].start();
            }
            long gen = 1;
            for (int i = 0; i < 200; i++) {
                int port = i % 2 == 0 ? b.port() : a.port();
                p.dp().update(ConfigLoader.parse(routes(port).replace("PORT", "1"), ++gen).routes());
                Thread.sleep(5);
            }
            stop.set(true);
            for (Thread t : clients) {
                t.join(10_000);
            }
            assertNull(failure.get(), () -> "a request failed during swaps: " + failure.get());
            assertTrue(okCount.get() > 100, "traffic flowed: " + okCount.get());
            assertTrue(!a.seen.isEmpty() && !b.seen.isEmpty());
            final long last = gen;
            TestSupport.awaitTrue(() -> p.dp().shards().stream().allMatch(s -> s.installedGeneration() == last), 2000);
            for (Shard s : p.dp().shards()) {
                assertEquals(last, s.installedGeneration(), "shard " + s.id + " on the newest table");
            }
        }
    }

    @Test
    void shardsArePinnedToTheirCpus() throws Exception {
        List<Integer> allowed = CpuAffinity.currentThreadAffinity();
        try (Origin o = new Origin(ok("a")); Running p = proxy(routes(o.port()), 2)) {
            for (Shard s : p.dp().shards()) {
                if (allowed.contains(s.cpu)) {
                    assertEquals(s.cpu, s.pinnedCpu(), "shard " + s.id);
                    int[] seen = new int[1];
                    s.loop.submit(() -> {
                        seen[0] = CpuAffinity.currentThreadAffinity().size() == 1
                            ? CpuAffinity.currentThreadAffinity().get(0) : -1;
                    }).sync();
                    assertEquals(s.cpu, seen[0], "the shard thread's affinity mask is its one CPU");
                }
            }
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void noBufferLeaked() throws InterruptedException {
        TestSupport.assertNoLeaks();
    }

    private static byte[] sha(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

}
