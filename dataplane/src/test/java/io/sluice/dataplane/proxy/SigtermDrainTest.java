package io.sluice.dataplane.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real data plane process and a real SIGTERM: /readyz turns 503, the listener closes, a slow request in flight
 * completes (with {@code Connection: close}), an idle keep-alive connection is closed, and the process exits 0.
 */
class SigtermDrainTest {
    @TempDir
    Path dir;

    @Test
    void sigtermDrainsAndExitsZero() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        TestSupport.Script slow = (req, out) -> {
            if (req.requestLine().contains("/slow")) {
                arrived.countDown();
                Thread.sleep(1_500);
            }
            return TestSupport.ok("o").respond(req, out);
        };
        int port = TestSupport.freePort();
        int adminPort = TestSupport.freePort();
        try (TestSupport.Origin o = new TestSupport.Origin(slow)) {
            Path config = dir.resolve("sluice.yaml");
            // readMs well above the origin's 1.5 s pause: the test is about draining, not the read timeout
            Files.writeString(config, TestSupport.routes(o.port()).replace("PORT", Integer.toString(port))
                .replace("readMs: 1500", "readMs: 10000")
                + "cpus: \"0\"\nsteering: none\ncoreMap: none\nadmin: {address: 127.0.0.1, port: " + adminPort + "}\n"
                + "shutdown: {drainSeconds: 10}\n");
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElse("java"));
            for (String f : System.getProperty("sluice.test.jvmflags", "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED "
                + "--sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED").split(" ")) {
                cmd.add(f);
            }
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.sluice.dataplane.DataPlaneMain",
                "dataplane", "--config", config.toString()));
            Path log = dir.resolve("out.log");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            LinkedBlockingQueue<String> output = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                int taken = 0;
                while (true) {
                    try {
                        List<String> lines = Files.readAllLines(log);
                        for (; taken < lines.size(); taken++) {
                            output.add(lines.get(taken));
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            reader.setDaemon(true);
            reader.start();
            try {
                awaitLine(output, "sluice: admin on", 60);
                assertEquals(200, OpsTestSupport.get(adminPort, "/readyz").statusCode());

                TestSupport.Client idle = new TestSupport.Client(port);
                idle.send("GET /warm HTTP/1.1\r\nHost: app.test\r\n\r\n");
                assertEquals(200, idle.read().status());

                TestSupport.Client inFlight = new TestSupport.Client(port);
                inFlight.send("GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n");
                assertTrue(arrived.await(10, TimeUnit.SECONDS));
                long signalled = System.nanoTime();
                p.destroy(); // SIGTERM
                try {
                    awaitLine(output, "sluice: stopping", 10);
                } catch (AssertionError e) {
                    p.waitFor(5, TimeUnit.SECONDS);
                    throw new AssertionError(e.getMessage() + " exit " + p.exitValue() + " " + cmd);
                }
                assertEquals(503, OpsTestSupport.get(adminPort, "/readyz").statusCode());
                assertTrue(idle.closedByPeer(), "an idle keep-alive connection is closed at once");
                assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close(),
                    "the listener is closed");

                TestSupport.Response slowResponse = inFlight.read();
                assertNotNull(slowResponse);
                assertEquals(200, slowResponse.status());
                assertEquals("close", slowResponse.header("connection"));
                assertTrue(inFlight.closedByPeer());
                assertTrue(p.waitFor(15, TimeUnit.SECONDS), "exited after draining");
                assertEquals(0, p.exitValue(), String.join("\n", output));
                assertTrue(System.nanoTime() - signalled < 9_000_000_000L, "exit as soon as connections are done");
                idle.close();
                inFlight.close();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static void awaitLine(LinkedBlockingQueue<String> q, String prefix, int seconds) throws Exception {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < until) {
            String l = q.poll(100, TimeUnit.MILLISECONDS);
            if (l != null) {
                seen.add(l);
                if (l.startsWith(prefix)) {
                    return;
                }
            }
        }
        throw new AssertionError("no line starting with '" + prefix + "' in " + seconds + " s; output: " + seen);
    }
}
