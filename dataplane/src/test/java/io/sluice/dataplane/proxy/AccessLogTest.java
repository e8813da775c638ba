package io.sluice.dataplane.proxy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The access log written by its own thread from the shards' rings, in both formats, with sampling. */
class AccessLogTest {
    @TempDir
    Path dir;

    @AfterEach
    void leaks() throws InterruptedException {
        TestSupport.assertNoLeaks();
    }

    private static List<String> awaitLines(Path f, int n) throws Exception {
        long until = System.nanoTime() + 5_000_000_000L;
        List<String> lines = List.of();
        while (System.nanoTime() < until) {
            lines = Files.exists(f) ? Files.readAllLines(f) : List.of();
            if (lines.size() >= n) {
                break;
            }
            Thread.sleep(20);
        }
        return lines;
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonRecords() throws Exception {
        Path log = dir.resolve("access.json");
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port())
                 + "accessLog: {path: " + log + ", format: json}\n", 2)) {
            try (TestSupport.Client c = new TestSupport.Client(r.port())) {
                c.send("GET /a/b?q=\"x\" HTTP/1.1\r\nHost: app.test\r\n\r\n");
                assertEquals(200, c.read().status());
                c.send("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc");
                assertEquals(200, c.read().status());
                c.send("GET / HTTP/1.1\r\nHost: none.test\r\n\r\n");
                assertEquals(404, c.read().status());
            }
            List<String> lines = awaitLines(log, 3);
            assertEquals(3, lines.size(), lines.toString());
            Map<String, Object> first = (Map<String, Object>) OpsTestSupport.json(lines.get(0));
            assertEquals("GET", first.get("method"));
            assertEquals("/a/b?q=\"x\"", first.get("path"));
            assertEquals("app.test", first.get("host"));
            assertEquals(200, first.get("status"));
            assertEquals("127.0.0.1:" + o.port(), first.get("upstream"));
            assertEquals("app", first.get("service"));
            assertEquals("127.0.0.1", first.get("client"));
            assertTrue(((Number) first.get("duration_ms")).doubleValue() >= 0);
            Map<String, Object> post = (Map<String, Object>) OpsTestSupport.json(lines.get(1));
            assertEquals("POST", post.get("method"));
            assertTrue(((Number) post.get("request_bytes")).intValue() > 3);
            Map<String, Object> miss = (Map<String, Object>) OpsTestSupport.json(lines.get(2));
            assertEquals(404, miss.get("status"));
            assertEquals(null, miss.get("upstream"));
        }
    }

    @Test
    void combinedFormatAndSampling() throws Exception {
        Path log = dir.resolve("access.log");
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port())
                 + "accessLog: {path: " + log + ", format: combined, sample: 0.25}\n", 1)) {
            try (TestSupport.Client c = new TestSupport.Client(r.port())) {
                for (int i = 0; i < 160; i++) {
                    c.send("GET /item/" + i + " HTTP/1.1\r\nHost: app.test\r\n\r\n");
                    assertEquals(200, c.read().status());
                }
            }
            Thread.sleep(300);
            List<String> lines = awaitLines(log, 1);
            assertTrue(lines.size() >= 20 && lines.size() <= 60, "a quarter of 160: " + lines.size());
            assertTrue(lines.get(0).matches("127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000\\] "
                + "\"GET /item/\\d+ HTTP/1\\.1\" 200 \\d+ \"-\" \"-\" host=\"app\\.test\" rt=[0-9.E-]+ urt=[0-9.E-]+ "
                + "upstream=127\\.0\\.0\\.1:\\d+ shard=0"), lines.get(0));
            assertEquals(lines.size(), r.dp().shards().get(0).accessLogRing().published);
        }
    }
}
