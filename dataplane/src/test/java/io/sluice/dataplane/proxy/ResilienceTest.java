package io.sluice.dataplane.proxy;

import io.sluice.dataplane.ops.AdminServer;
import io.sluice.dataplane.ops.EndpointHealth;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.sluice.dataplane.proxy.OpsTestSupport.metric;
import static io.sluice.dataplane.proxy.OpsTestSupport.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dead backends, health checks, circuit breaking and the retry budget, with real origins on loopback. */
class ResilienceTest {
    @AfterEach
    void leaks() throws InterruptedException {
        TestSupport.assertNoLeaks();
    }

    private static String config(String extra, int... ports) {
        return TestSupport.routes(ports) + extra;
    }

    @Test
    void aBackendKilledUnderLoadIsEjectedAndTrafficKeepsSucceeding() throws Exception {
        try (TestSupport.Origin a = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Origin b = new TestSupport.Origin(TestSupport.ok("b"));
             TestSupport.Origin c = new TestSupport.Origin(TestSupport.ok("c"));
             TestSupport.Running r = TestSupport.proxy(config("""
                 outlier: {consecutiveConnectFailures: 3, consecutive5xx: 3, baseEjectionMs: 60000}
                 retry: {budgetPercent: 0, minRetriesPerSecond: 0}
                 """, a.port(), b.port(), c.port()), 1);
             AdminServer admin = OpsTestSupport.admin(r)) {
            int failed = 0;
            for (int i = 0; i < 30; i++) {
                failed += request(r.port(), "app.test", "/") == 200 ? 0 : 1;
            }
            assertEquals(0, failed);
            c.close(); // killed: its port now refuses connections
            int before = c.seen.size();
            int failedAfter = 0;
            for (int i = 0; i < 60; i++) {
                failedAfter += request(r.port(), "app.test", "/") == 200 ? 0 : 1;
            }
            // Without retries (budget 0), exactly the threshold of requests reach the dead endpoint, then it is out.
            assertEquals(3, failedAfter, "failures before ejection");
            assertEquals(before, c.seen.size());
            String m = OpsTestSupport.get(admin.port(), "/metrics").body();
            assertEquals(1, metric(m, "sluice_endpoint_ejected", "endpoint=\"127.0.0.1:" + c.port() + "\""), m);
            assertEquals(1, metric(m, "sluice_outlier_ejections_total", "endpoint=\"127.0.0.1:" + c.port() + "\""));
            assertEquals(3, metric(m, "sluice_upstream_endpoint_connect_errors_total",
                "endpoint=\"127.0.0.1:" + c.port() + "\""));
            double ejectedAt = metric(m, "sluice_endpoint_last_ejection_timestamp_seconds",
                "endpoint=\"127.0.0.1:" + c.port() + "\"");
            assertTrue(Math.abs(System.currentTimeMillis() / 1e3 - ejectedAt) < 60, "ejection time stamped: " + ejectedAt);
        }
    }

    @Test
    void retriesSendIdempotentRequestsToAnotherEndpointAfterAConnectFailure() throws Exception {
        int dead = TestSupport.freePort();
        try (TestSupport.Origin a = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(config("""
                 outlier: {enabled: false}
                 retry: {budgetPercent: 20, minRetriesPerSecond: 1000}
                 """, a.port(), dead), 1)) {
            for (int i = 0; i < 20; i++) {
                assertEquals(200, request(r.port(), "app.test", "/"), "request " + i);
            }
            // Round robin over two: the retry's pick moves the cursor on, so most requests meet the dead one first.
            assertTrue(r.dp().sum(s -> s.stats.retries) >= 10, "retried: " + r.dp().sum(s -> s.stats.retries));
        }
    }

    @Test
    void aSpentRetryBudgetRefusesRetries() throws Exception {
        int dead = TestSupport.freePort();
        try (TestSupport.Origin a = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(config("""
                 outlier: {enabled: false}
                 retry: {budgetPercent: 0, minRetriesPerSecond: 2}
                 """, a.port(), dead), 1)) {
            int bad = 0;
            for (int i = 0; i < 20; i++) {
                bad += request(r.port(), "app.test", "/") == 502 ? 1 : 0;
            }
            // Two retries within the budget (this second, one shard); every other request that met the dead one: 502.
            long retries = r.dp().sum(s -> s.stats.retries);
            assertTrue(retries >= 2 && retries <= 4, "2 per one-second window: " + retries); // 20 requests: ~0.1 s
            assertTrue(bad >= 8, "502s: " + bad);
            assertEquals(bad, r.dp().sum(Shard::retriesDenied));
        }
    }

    @Test
    void activeHttpChecksMarkAnEndpointUnhealthyAndBackHealthy() throws Exception {
        TestSupport.Script sick = (req, out) -> {
            boolean health = req.requestLine().startsWith("GET /health ");
            String status = health ? "503 Service Unavailable" : "200 OK";
            out.write(("HTTP/1.1 " + status + "\r\nContent-Length: 1\r\n\r\nb").getBytes(StandardCharsets.US_ASCII));
            return !health;
        };
        try (TestSupport.Origin a = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Origin b = new TestSupport.Origin(sick);
             TestSupport.Running r = TestSupport.proxy(config("""
                 health: {type: http, path: /health, intervalMs: 50, jitterMs: 10, timeoutMs: 500,
                          healthyThreshold: 2, unhealthyThreshold: 2}
                 """, a.port(), b.port()), 1)) {
            EndpointHealth hb = r.dp().ops().health.get("127.0.0.1:" + b.port());
            EndpointHealth ha = r.dp().ops().health.get("127.0.0.1:" + a.port());
            TestSupport.awaitTrue(() -> !hb.healthy(), 5_000);
            assertFalse(hb.healthy(), hb.lastResult());
            assertEquals("status 503", hb.lastResult());
            assertTrue(ha.healthy());
            long seenBefore = b.seen.stream().filter(s -> !s.requestLine().contains("/health")).count();
            for (int i = 0; i < 20; i++) {
                assertEquals(200, request(r.port(), "app.test", "/"));
            }
            assertEquals(seenBefore, b.seen.stream().filter(s -> !s.requestLine().contains("/health")).count(),
                "no traffic to the unhealthy endpoint");
            b.script(TestSupport.ok("b"));
            TestSupport.awaitTrue(hb::healthy, 5_000);
            assertTrue(hb.healthy());
            assertTrue(hb.transitions() >= 2);
        }
    }

    @Test
    void tcpChecksAndPanicModeWhenEveryEndpointIsUnhealthy() throws Exception {
        int dead = TestSupport.freePort();
        try (TestSupport.Running r = TestSupport.proxy(config("""
                 health: {type: tcp, intervalMs: 50, jitterMs: 0, unhealthyThreshold: 1}
                 outlier: {enabled: false}
                 """, dead), 1)) {
            EndpointHealth h = r.dp().ops().health.get("127.0.0.1:" + dead);
            TestSupport.awaitTrue(() -> !h.healthy(), 5_000);
            assertFalse(h.healthy());
            // The only endpoint is unhealthy: the pick ignores health (panic) and the connect fails: 502, not 503.
            assertEquals(502, request(r.port(), "app.test", "/"));
        }
    }

    /** An origin that answers only once {@code release} opens; {@code arrived} opens when a request reaches it. */
    private static TestSupport.Script held(CountDownLatch arrived, CountDownLatch release) {
        return (req, out) -> {
            arrived.countDown();
            release.await(10, TimeUnit.SECONDS);
            return TestSupport.ok("slow").respond(req, out);
        };
    }

    @Test
    void perBackendRequestLimitAnswers503WithAClearBody() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch arrived = new CountDownLatch(1);
        TestSupport.Script slow = held(arrived, release);
        try (TestSupport.Origin a = new TestSupport.Origin(slow);
             TestSupport.Running r = TestSupport.proxy(config("""
                 backendPolicies: {app: {limits: {maxRequests: 1}}}
                 """, a.port()), 1);
             TestSupport.Client first = new TestSupport.Client(r.port());
             TestSupport.Client second = new TestSupport.Client(r.port())) {
            first.send("GET /1 HTTP/1.1\r\nHost: app.test\r\n\r\n");
            assertTrue(arrived.await(5, TimeUnit.SECONDS));
            second.send("GET /2 HTTP/1.1\r\nHost: app.test\r\n\r\n");
            TestSupport.Response over = second.read();
            assertEquals(503, over.status());
            assertTrue(over.text().contains("circuit breaker"), over.text());
            release.countDown();
            assertEquals(200, first.read().status());
            assertEquals(1, r.dp().sum(s -> s.stats.overflowRequests));
            second.send("GET /3 HTTP/1.1\r\nHost: app.test\r\n\r\n"); // the 503 kept the connection
            assertEquals(200, second.read().status());
        }
    }

    @Test
    void pendingQueueLimitFromTheBackendEntry() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch arrived = new CountDownLatch(1);
        TestSupport.Script slow = held(arrived, release);
        String yaml = TestSupport.routes(0).replace("endpoints: [\"127.0.0.1:0\",]",
            "endpoints: [\"127.0.0.1:ORIGIN\"]\n    limits: {maxConnections: 1, maxPending: 1}");
        try (TestSupport.Origin a = new TestSupport.Origin(slow);
             TestSupport.Running r = TestSupport.proxy(yaml.replace("ORIGIN", Integer.toString(a.port())), 1);
             TestSupport.Client c1 = new TestSupport.Client(r.port());
             TestSupport.Client c2 = new TestSupport.Client(r.port());
             TestSupport.Client c3 = new TestSupport.Client(r.port())) {
            c1.send("GET /1 HTTP/1.1\r\nHost: app.test\r\n\r\n");
            assertTrue(arrived.await(5, TimeUnit.SECONDS));
            c2.send("GET /2 HTTP/1.1\r\nHost: app.test\r\n\r\n"); // waits for the one connection
            Thread.sleep(100);
            c3.send("GET /3 HTTP/1.1\r\nHost: app.test\r\n\r\n"); // queue full
            TestSupport.Response over = c3.read();
            assertEquals(503, over.status());
            assertTrue(over.text().contains("circuit breaker"));
            release.countDown();
            assertEquals(200, c1.read().status());
            assertEquals(200, c2.read().status());
            assertEquals(1, r.dp().sum(s -> s.stats.overflowPending));
        }
    }
}
