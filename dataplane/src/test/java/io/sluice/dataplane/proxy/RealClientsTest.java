package io.sluice.dataplane.proxy;

import io.sluice.dataplane.demo.DemoBackends;
import io.sluice.dataplane.proxy.TestSupport.Running;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** curl and wrk, the clients users reach for, against the proxy in front of the demo backends. */
@Timeout(120)
class RealClientsTest {
    private static DemoBackends origins;
    private static Running proxy;
    private static int originPort;

    @BeforeAll
    static void start() throws Exception {
        originPort = TestSupport.freePort();
        origins = DemoBackends.start(Map.of("origin", originPort));
        proxy = TestSupport.proxy(TestSupport.routes(originPort), 2);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        proxy.close();
        origins.close();
        TestSupport.assertNoLeaks();
    }

    private static boolean has(String tool) {
        boolean present = Arrays.stream(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError(tool + " is required in CI (.ci/run installs it)");
        }
        return present;
    }

    private static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out, err);
    }

    record Result(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    private String url(String path) {
        return "http://127.0.0.1:" + proxy.port() + path;
    }

    @Test
    void curlGetHeadAndHttp10() throws Exception {
        assumeTrue(has("curl"));
        Result r = run("curl", "-sS", "-H", "Host: app.test", url("/hello?x=1"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.text().contains("request: GET /hello?x=1"), r.text());
        assertTrue(r.text().contains("x-forwarded-for: 127.0.0.1"));

        r = run("curl", "-sS", "-I", "-H", "Host: app.test", url("/"));
        assertTrue(r.text().startsWith("HTTP/1.1 200"), r.text());
        assertTrue(r.text().toLowerCase().contains("via: 1.1 sluice"));

        r = run("curl", "-sS", "--http1.0", "-i", "-H", "Host: app.test", url("/ten"));
        assertTrue(r.text().contains("request: GET /ten"), r.text());

        r = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: elsewhere.test", url("/"));
        assertEquals("404", r.text());
    }

    @Test
    void curlUploadsWithLengthChunkedAndExpectContinue() throws Exception {
        assumeTrue(has("curl"));
        byte[] data = new byte[3 * 1024 * 1024];
        new Random(3).nextBytes(data);
        Path f = Files.createTempFile("sluice-upload", ".bin");
        try {
            Files.write(f, data);
            List<List<String>> modes = List.of(
                List.of("--data-binary", "@" + f),                                        // Content-Length + Expect
                List.of("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + f),   // chunked
                List.of("-H", "Expect:", "--data-binary", "@" + f));                    // no Expect
            for (List<String> mode : modes) {
                List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-H", "Host: app.test"));
                cmd.addAll(mode);
                cmd.add(url("/echo"));
                Result r = run(cmd.toArray(String[]::new));
                assertEquals(0, r.exit(), r.err());
                byte[] out = r.out();
                byte[] tail = Arrays.copyOfRange(out, out.length - data.length, out.length);
                assertArrayEquals(data, tail, "body intact with " + mode.get(0) + " " + mode.get(1));
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void wrkShortLoadHasNoErrors() throws Exception {
        assumeTrue(has("wrk"));
        Result r = run("wrk", "-t1", "-c32", "-d2s", "-H", "Host: app.test", url("/load"));
        String out = r.text();
        assertEquals(0, r.exit(), r.err());
        assertFalse(out.contains("Socket errors"), out);
        assertFalse(out.contains("Non-2xx"), out);
        Matcher m = Pattern.compile("(\\d+) requests in").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(1)) > 100, "requests completed: " + out); // a sanity floor, not a speed claim
        long sent = proxy.dp().sum(s -> s.stats.requests);
        long answered = proxy.dp().sum(s -> s.stats.responses);
        // wrk stops with up to one request in flight per connection; everything else was answered.
        assertTrue(sent - answered <= 32, "requests " + sent + ", responses " + answered);
    }
}
