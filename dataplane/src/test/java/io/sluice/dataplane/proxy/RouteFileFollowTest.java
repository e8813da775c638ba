package io.sluice.dataplane.proxy;

import io.sluice.dataplane.control.RouteTableFollower;
import io.sluice.dataplane.proxy.TestSupport.Client;
import io.sluice.dataplane.proxy.TestSupport.Origin;
import io.sluice.dataplane.proxy.TestSupport.Response;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import io.sluice.routetable.shm.RouteTableFileWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.sluice.dataplane.proxy.TestSupport.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data plane following the agent's shared-memory route file, written by the real writer. */
@Timeout(60)
class RouteFileFollowTest {
    private static RouteTable table(long gen, int... ports) {
        List<Endpoint> eps = new java.util.ArrayList<>();
        for (int p : ports) {
            eps.add(new Endpoint("127.0.0.1", p));
        }
        return new RouteTable(gen,
            List.of(new VirtualHost("app.test", List.of(new PathRule("/", PathType.PREFIX, 0, "ingress t/app")))),
            List.of(new Backend("t/app:80", Balancer.ROUND_ROBIN, eps)), -1);
    }

    @Test
    void tablesFromTheFileReachEveryShardAndEndpointChangesLoseNoRequest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("routes");
        String yaml = "listeners: [{port: PORT}]\ntimeouts: {connectMs: 1000, readMs: 2000, idleMs: 5000}\n";
        try (Origin a = new Origin(ok("a")); Origin b = new Origin(ok("b"));
             TestSupport.Running p = TestSupport.proxy(yaml, 2);
             RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFollower f = RouteTableFollower.start(p.dp(), file);
             Client c = new Client(p.port())) {
            assertEquals(404, c.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").read().status(), "no table yet");

            w.publish(table(1, a.port()));
            TestSupport.awaitTrue(() -> f.applied() >= 1
                && p.dp().shards().stream().allMatch(s -> s.installedGeneration() == p.dp().current().generation()),
                5_000);
            Response r = c.send("GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n").read();
            assertTrue(r.text().contains("origin=a"), r.text());

            // Endpoint churn while clients keep sending: a, b, a+b, ... published 300 times.
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger okCount = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] clients = new Thread[3];
            for (int t = 0; t < clients.length; t++) {
                clients[t] = new Thread(() -> {
                    try (Client cc = new Client(p.port())) {
                        while (!stop.get()) {
                            Response rr = cc.send("GET /churn HTTP/1.1\r\nHost: app.test\r\n\r\n").read();
                            if (rr == null || rr.status() != 200) {
                                throw new AssertionError("failed: " + (rr == null ? "closed" : rr.status()));
                            }
                            okCount.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                clients[t].start();
            }
            for (int gen = 2; gen < 302; gen++) {
                int[][] sets = {{a.port()}, {b.port()}, {a.port(), b.port()}};
                w.publish(table(gen, sets[gen % 3]));
                Thread.sleep(3);
            }
            stop.set(true);
            for (Thread t : clients) {
                t.join(10_000);
            }
            assertNull(failure.get(), () -> "request failed during endpoint churn: " + failure.get());
            assertTrue(okCount.get() > 50, "traffic flowed: " + okCount.get());
            TestSupport.awaitTrue(() -> f.lastAppliedGeneration() == 301, 5_000);
            assertEquals(301, f.lastAppliedGeneration());
            assertEquals(0, f.rejected());
            // A route change (new host) after the churn: served by the same connection.
            w.publish(new RouteTable(302,
                List.of(new VirtualHost("new.test", List.of(new PathRule("/", PathType.PREFIX, 0, "ingress t/new")))),
                List.of(new Backend("t/new:80", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", b.port())))),
                -1));
            TestSupport.awaitTrue(() -> f.lastAppliedGeneration() == 302
                && p.dp().shards().stream().allMatch(s -> s.installedGeneration() == 302), 5_000);
            assertTrue(c.send("GET / HTTP/1.1\r\nHost: new.test\r\n\r\n").read().text().contains("origin=b"));
            assertEquals(404, c.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").read().status(), "old host gone");
        }
    }

    @Test
    void agentRestartOnANewFileCountingFromOneIsStillApplied(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("routes");
        String yaml = "listeners: [{port: PORT}]\n";
        try (Origin a = new Origin(ok("a")); Origin b = new Origin(ok("b"));
             TestSupport.Running p = TestSupport.proxy(yaml, 1);
             RouteTableFollower f = RouteTableFollower.start(p.dp(), file);
             Client c = new Client(p.port())) {
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                w.publish(table(40, a.port()));
                TestSupport.awaitTrue(() -> f.applied() >= 1, 5_000);
            }
            // The agent "dies": the data plane keeps serving the last table.
            assertTrue(c.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").read().text().contains("origin=a"));
            java.nio.file.Files.delete(file);
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                w.publish(table(1, b.port()));
                TestSupport.awaitTrue(() -> f.applied() >= 2, 5_000);
                assertEquals(2, f.applied());
                assertTrue(p.dp().current().generation() > 40, "re-stamped above the last generation");
                TestSupport.awaitTrue(() -> p.dp().shards().get(0).installedGeneration() == p.dp().current().generation(),
                    2_000);
                assertTrue(c.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").read().text().contains("origin=b"));
            }
        }
    }
}
