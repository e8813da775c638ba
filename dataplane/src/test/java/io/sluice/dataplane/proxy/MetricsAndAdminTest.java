package io.sluice.dataplane.proxy;

import io.sluice.dataplane.ops.AdminServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static io.sluice.dataplane.proxy.OpsTestSupport.get;
import static io.sluice.dataplane.proxy.OpsTestSupport.metric;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real traffic through the proxy, then the admin port scraped over a real socket. */
class MetricsAndAdminTest {
    @AfterEach
    void leaks() throws InterruptedException {
        TestSupport.assertNoLeaks();
    }

    @Test
    void requestsShowUpInMetricsWithTheirLabels() throws Exception {
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port()), 1);
             AdminServer admin = OpsTestSupport.admin(r)) {
            try (TestSupport.Client c = new TestSupport.Client(r.port())) {
                for (int i = 0; i < 20; i++) {
                    c.send("GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n");
                    assertEquals(200, c.read().status());
                }
                c.send("POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello");
                assertEquals(200, c.read().status());
                for (int i = 0; i < 3; i++) {
                    c.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
                    assertEquals(404, c.read().status());
                }
            }
            assertEquals(400, rawBad(r.port()));
            String m = get(admin.port(), "/metrics").body();
            String route = "host=\"app.test\",rule=\"Prefix /\",service=\"app\"";
            assertEquals(20, metric(m, "sluice_requests_total", route, "method=\"GET\"", "status_class=\"2xx\"",
                "protocol=\"h1\"", "shard=\"0\""), m);
            assertEquals(1, metric(m, "sluice_requests_total", route, "method=\"POST\"", "status_class=\"2xx\""));
            assertEquals(3, metric(m, "sluice_requests_total", "host=\"\",rule=\"\"", "status_class=\"4xx\"",
                "method=\"GET\""));
            assertEquals(1, metric(m, "sluice_requests_total", "host=\"\",rule=\"\"", "method=\"OTHER\"",
                "status_class=\"4xx\""), "the malformed request, rejected before routing");
            assertEquals(21, metric(m, "sluice_request_duration_seconds_count", route));
            assertEquals(21, metric(m, "sluice_request_duration_seconds_bucket", route, "le=\"+Inf\""));
            assertEquals(21, metric(m, "sluice_upstream_response_seconds_count", route));
            assertTrue(metric(m, "sluice_request_duration_seconds_sum", route) > 0);
            assertTrue(metric(m, "sluice_request_bytes_total", route) >= 21 * 20 + 5);
            assertTrue(metric(m, "sluice_response_bytes_total", route) > 21 * 50);
            assertEquals(21, metric(m, "sluice_upstream_requests_total", "service=\"app\""));
            assertEquals(0, metric(m, "sluice_endpoint_ejected", "service=\"app\""));
            assertEquals(2, metric(m, "sluice_connections_total", "shard=\"0\""));
            assertEquals(0, metric(m, "sluice_route_table_generation", "shard=\"0\""));
            assertTrue(m.contains("sluice_route_table_age_seconds{shard=\"0\",}"), m);
            assertTrue(metric(m, "sluice_netty_direct_memory_bytes") > 0);
            assertTrue(m.contains("jvm_gc_collection_seconds"), "simpleclient_hotspot GC metrics");
            assertTrue(m.contains("jvm_buffer_pool_used_bytes{pool=\"direct\",}"), "direct buffer pool");
            assertTrue(m.contains("# TYPE sluice_requests_total counter"), m);
        }
    }

    @Test
    void http2StreamsAndTlsHandshakesShowUpInMetrics() throws Exception {
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port())
                 .replace("listeners: [{port: PORT}]", "listeners: [{port: PORT}, {port: " + tlsPortFor() + ", tls: true}]"), 1);
             AdminServer admin = OpsTestSupport.admin(r)) {
            for (int i = 0; i < 4; i++) {
                Process p = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "--http2-prior-knowledge", "-H",
                    "Host: app.test", "http://127.0.0.1:" + r.port() + "/h2/" + i).start();
                assertEquals(0, p.waitFor(), "curl h2c");
            }
            Process tls = new ProcessBuilder("curl", "-sS", "-k", "-o", "/dev/null", "--http1.1", "--resolve",
                "app.test:" + tlsPort + ":127.0.0.1", "https://app.test:" + tlsPort + "/tls").start();
            assertEquals(0, tls.waitFor(), "curl over TLS");
            String m = get(admin.port(), "/metrics").body();
            String route = "host=\"app.test\",rule=\"Prefix /\",service=\"app\"";
            assertEquals(4, metric(m, "sluice_requests_total", route, "method=\"GET\"", "status_class=\"2xx\"",
                "protocol=\"h2\""), m);
            assertEquals(1, metric(m, "sluice_requests_total", route, "protocol=\"h1\""), m);
            assertEquals(1, metric(m, "sluice_tls_handshakes_total", "version=\"TLSv1.3\"", "resumed=\"false\""), m);
        }
    }

    private static int tlsPort;

    private static int tlsPortFor() throws Exception {
        tlsPort = TestSupport.freePort();
        return tlsPort;
    }

    private static int rawBad(int port) throws Exception {
        try (TestSupport.Client c = new TestSupport.Client(port)) {
            c.send("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
            return c.read().status();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void adminEndpoints() throws Exception {
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port()), 2);
             AdminServer admin = OpsTestSupport.admin(r)) {
            int p = admin.port();
            assertEquals(200, get(p, "/healthz").statusCode());
            HttpResponse<String> ready = get(p, "/readyz");
            assertEquals(200, ready.statusCode(), ready.body());

            Map<String, Object> routes = (Map<String, Object>) OpsTestSupport.json(get(p, "/routes").body());
            List<Map<String, Object>> hosts = (List<Map<String, Object>>) routes.get("hosts");
            assertEquals("app.test", hosts.get(0).get("host"));
            assertFalse(get(p, "/routes").body().contains("PRIVATE KEY"));

            Map<String, Object> ex = (Map<String, Object>) OpsTestSupport.json(
                get(p, "/explain?host=app.test&path=/api/v1").body());
            assertEquals(true, ex.get("matched"));
            assertEquals("Prefix /", ex.get("rule"));
            assertEquals("app", ((Map<String, Object>) ex.get("backend")).get("name"));
            Map<String, Object> none = (Map<String, Object>) OpsTestSupport.json(
                get(p, "/explain?host=other.test&path=/").body());
            assertEquals(false, none.get("matched"));
            assertEquals(400, get(p, "/explain").statusCode());

            Map<String, Object> status = (Map<String, Object>) OpsTestSupport.json(get(p, "/status.json").body());
            assertEquals(2, ((List<Object>) status.get("shards")).size());
            assertEquals(1, ((List<Object>) status.get("endpoints")).size());
            assertTrue(get(p, "/status").body().contains("<table id=\"shards\""));

            r.dp().drain(); // as SIGTERM does
            HttpResponse<String> draining = get(p, "/readyz");
            assertEquals(503, draining.statusCode());
            assertEquals("draining\n", draining.body());
        }
    }

    @Test
    void notReadyUntilTheFirstTableIsInstalled() throws Exception {
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port()), 1);
             AdminServer admin = AdminServer.start(r.dp(), "127.0.0.1", 0, () -> 1)) { // waits for generation 1
            assertEquals(503, get(admin.port(), "/readyz").statusCode());
            r.dp().update(r.dp().current().source.withGeneration(1));
            TestSupport.awaitTrue(admin::ready, 5_000);
            assertEquals(200, get(admin.port(), "/readyz").statusCode());
        }
    }

    @Test
    void readyAfterTheAgentsFirstTableWithAgentLinkMetrics(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
        throws Exception {
        java.nio.file.Path file = dir.resolve("routes");
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy("listeners: [{port: PORT}]\n", 1);
             io.sluice.routetable.shm.RouteTableFileWriter w = io.sluice.routetable.shm.RouteTableFileWriter.open(file);
             io.sluice.dataplane.control.RouteTableFollower f =
                 io.sluice.dataplane.control.RouteTableFollower.start(r.dp(), file);
             AdminServer admin = AdminServer.start(r.dp(), "127.0.0.1", 0,
                 () -> f.applied() > 0 ? f.firstAppliedGeneration() : Long.MAX_VALUE,
                 new io.sluice.dataplane.control.FollowerCollector(f))) {
            HttpResponse<String> before = get(admin.port(), "/readyz");
            assertEquals(503, before.statusCode());
            assertEquals("not ready: waiting for the first route table\n", before.body());
            String yaml = TestSupport.routes(o.port()).replace("PORT", "1");
            w.publish(io.sluice.dataplane.config.ConfigLoader.parse(yaml, 1).routes());
            TestSupport.awaitTrue(admin::ready, 5_000);
            assertEquals(200, get(admin.port(), "/readyz").statusCode());
            String m = get(admin.port(), "/metrics").body();
            assertEquals(1, metric(m, "sluice_agent_tables_applied_total"), m);
            assertEquals(0, metric(m, "sluice_agent_tables_rejected_total"));
            double age = metric(m, "sluice_agent_heartbeat_age_seconds");
            assertTrue(age >= 0 && age < 60, "heartbeat age " + age);
        }
    }
}
