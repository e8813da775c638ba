package io.sluice.agent;

import static io.sluice.agent.harness.ManifestFiles.documents;
import static io.sluice.agent.harness.ManifestFiles.ingress;
import static io.sluice.agent.harness.ManifestFiles.ingressClass;
import static io.sluice.agent.harness.ManifestFiles.service;
import static io.sluice.agent.harness.ManifestFiles.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.agent.harness.ChildJvm;
import io.sluice.agent.harness.LoopbackClient;
import io.sluice.agent.harness.LoopbackOrigin;
import io.sluice.agent.harness.ManifestFiles;
import io.sluice.agent.harness.ManifestFiles.IngressPath;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import io.sluice.routetable.shm.RouteTableFileReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two-process test: the agent (its own JVM, {@code AgentMain --manifests DIR --routes FILE}) and the data
 * plane (its own JVM, {@code DataPlaneMain dataplane --config F --routes FILE --cpus 0,1}) as in a deployment, real
 * origins on loopback, keep-alive load from several client threads plus one Upgrade tunnel held open, while the test
 * rewrites the manifests 30–45 times a second:
 * <ul>
 *   <li>endpoint changes: the Service's EndpointSlices are replaced by slices with new names (as the EndpointSlice
 *       controller does), endpoints come and go, some are terminating-but-serving (draining); one endpoint is always
 *       ready;</li>
 *   <li>route changes: Ingresses for other hosts appear and disappear, and another Ingress adds and removes paths on
 *       the loaded host itself (rules merged per host), so the data plane rebuilds its router under load.</li>
 * </ul>
 * Asserts zero failed requests (anything but a 200 from an origin), zero broken connections (the tunnel included),
 * that every endpoint took traffic at some point, and that the final table — agent's file and data plane's traffic —
 * is the last one written. Bounded by time of churn (8 s) and by waits with limits; no timing assertions.
 */
@Timeout(150)
class TwoProcessZeroLossTest {
    private static final String NS = "load";
    private static final long CHURN_MS = 8_000;
    private static final int CLIENTS = 4;

    @TempDir
    Path tmp;

    /** Endpoint sets the churn cycles through: origin index, terminating. Each has a ready endpoint. */
    private static final int[][][] ENDPOINT_SETS = {
        {{0, 0}},
        {{0, 0}, {1, 0}},
        {{1, 0}, {0, 1}},
        {{1, 0}, {2, 0}},
        {{2, 0}, {1, 1}},
        {{0, 0}, {1, 0}, {2, 0}},
    };

    @Test
    void routesAndEndpointsChangeManyTimesASecondUnderLoadWithoutLosingARequestOrAConnection() throws Exception {
        Path manifests = Files.createDirectories(tmp.resolve("manifests"));
        Path routes = tmp.resolve("routes");
        List<LoopbackOrigin> app = new ArrayList<>();
        try (LoopbackOrigin a = LoopbackOrigin.start("a"); LoopbackOrigin b = LoopbackOrigin.start("b");
             LoopbackOrigin c = LoopbackOrigin.start("c"); LoopbackOrigin d = LoopbackOrigin.start("d")) {
            app.add(a);
            app.add(b);
            app.add(c);
            ManifestFiles.write(manifests, "00-base.yaml", documents(List.of(ingressClass(), service(NS, "app"),
                service(NS, "other"), slice(NS, "other-d", "other", d.port(), false))));
            ManifestFiles.write(manifests, "10-app-endpoints.yaml", endpoints(app, 0));
            ManifestFiles.write(manifests, "20-routes.yaml", routes(0, null));

            int port = freePort();
            Path config = tmp.resolve("dataplane.yaml");
            Files.writeString(config, """
                listeners:
                  - {address: 127.0.0.1, port: %d}
                idle: block
                timeouts: {connectMs: 2000, readMs: 10000, idleMs: 60000}
                """.formatted(port));
            try (ChildJvm agent = ChildJvm.start("agent", tmp.resolve("agent.log"), List.of("-Xmx256m"),
                     "io.sluice.agent.AgentMain", List.of("--manifests", manifests.toString(), "--routes",
                         routes.toString()));
                 ChildJvm dataPlane = ChildJvm.start("dataplane", tmp.resolve("dataplane.log"), List.of("-Xmx256m"),
                     "io.sluice.dataplane.DataPlaneMain", List.of("dataplane", "--config", config.toString(),
                         "--routes", routes.toString(), "--cpus", "0,1"))) {
                String logs = "";
                try {
                    assertTrue(dataPlane.awaitLog("sluice data plane ready", 60_000), "data plane did not start");
                    awaitAnswer(port, "app.test", "/", r -> r.status() == 200, 60_000);
                    awaitAnswer(port, "stable.test", "/", r -> r.status() == 200 && r.body().startsWith("origin=d"),
                        10_000);
                    churnUnderLoad(manifests, routes, port, app, d);
                } catch (Throwable t) {
                    logs = "\n" + agent.tail(40) + dataPlane.tail(40);
                    throw new AssertionError(t.getMessage() + logs, t);
                }
                String dpLog = dataPlane.log();
                assertFalse(dpLog.contains("rejected a route table"), "the data plane rejected a table:" + logs);
                assertTrue(agent.isAlive() && dataPlane.isAlive(), "both processes still run");
                System.out.printf("two-process test: agent published %d generations%n",
                    agent.log().split("published generation", -1).length - 1);
            }
        }
    }

    private void churnUnderLoad(Path manifests, Path routes, int port, List<LoopbackOrigin> app, LoopbackOrigin d)
            throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong broken = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        Thread[] clients = new Thread[CLIENTS];
        for (int t = 0; t < clients.length; t++) {
            int id = t;
            clients[t] = Thread.ofPlatform().name("load-" + t).start(() ->
                load(id, port, stop, ok, failed, broken, failures));
        }
        long tunnelEchoes = 0;
        LoopbackClient tunnel = new LoopbackClient(port, 5_000);
        long edits = 0;
        try {
            LoopbackClient.Response up = tunnel.upgrade("app.test", "/ws");
            assertEquals(101, up.status(), "the tunnel is set up");
            long end = System.nanoTime() + CHURN_MS * 1_000_000L;
            int step = 0;
            while (System.nanoTime() < end) {
                step++;
                if (step % 2 == 0) {
                    ManifestFiles.write(manifests, "10-app-endpoints.yaml", endpoints(app, step));
                } else {
                    ManifestFiles.write(manifests, "20-routes.yaml", routes(step, null));
                }
                edits++;
                if (step % 10 == 0) {
                    String ping = "ping-" + step + "\n";
                    assertEquals(ping, tunnel.echo(ping), "the tunnel echoes across the changes");
                    tunnelEchoes++;
                }
                Thread.sleep(20);
            }
            // The final state: endpoints only on origin c (a new slice name), and a new host.
            ManifestFiles.write(manifests, "10-app-endpoints.yaml",
                slice(NS, "app-final", "app", app.get(2).port(), false));
            ManifestFiles.write(manifests, "20-routes.yaml", routes(-1, "final.test"));
            edits += 2;
            awaitAnswer(port, "final.test", "/", r -> r.status() == 200 && r.body().startsWith("origin=c"), 20_000);
            // Once the final table is in, every request goes to c.
            try (LoopbackClient probe = new LoopbackClient(port, 5_000)) {
                for (int i = 0; i < 30; i++) {
                    LoopbackClient.Response r = probe.get("app.test", "/final/" + i);
                    assertEquals(200, r.status());
                    assertTrue(r.body().startsWith("origin=c "), "final endpoints served: " + r.body());
                }
            }
            assertEquals("last\n", tunnel.echo("last\n"), "the tunnel survived every change");
            tunnelEchoes++;
        } finally {
            stop.set(true);
            for (Thread t : clients) {
                t.join(15_000);
            }
            tunnel.close();
        }
        System.out.printf("two-process test: %d manifest edits in %d ms, %d requests ok, %d failed, %d broken "
                + "connections, %d tunnel echoes; origins a/b/c/d served %d/%d/%d/%d%n", edits, CHURN_MS, ok.get(),
            failed.get(), broken.get(), tunnelEchoes, app.get(0).requests(), app.get(1).requests(),
            app.get(2).requests(), d.requests());
        assertEquals(0, failed.get(), () -> "failed requests: " + failures);
        assertEquals(0, broken.get(), () -> "broken connections: " + failures);
        assertTrue(ok.get() > 100, "the load generator ran: " + ok.get());
        for (LoopbackOrigin o : app) {
            assertTrue(o.requests() > 0, "endpoint " + o.name() + " took traffic while it was in the table");
        }
        assertFinalTableInFile(routes, app.get(2).port());
    }

    /** One client thread: keep-alive GETs and POSTs on two hosts; every answer must be a 200 from an origin. */
    private static void load(int id, int port, AtomicBoolean stop, AtomicLong ok, AtomicLong failed,
                             AtomicLong broken, ConcurrentLinkedQueue<String> failures) {
        byte[] body = new byte[1024];
        LoopbackClient c = null;
        long i = 0;
        while (!stop.get()) {
            String what = "";
            try {
                if (c == null) {
                    c = new LoopbackClient(port, 5_000);
                }
                i++;
                LoopbackClient.Response r;
                String expect;
                if (i % 3 == 0) {
                    what = "GET stable.test/s/" + i;
                    r = c.get("stable.test", "/s/" + i);
                    expect = "origin=d ";
                } else if (i % 4 == 0) {
                    what = "POST app.test/load/" + i;
                    r = c.post("app.test", "/load/" + i, body);
                    expect = "origin=";
                } else {
                    what = "GET app.test/load/" + i;
                    r = c.get("app.test", "/load/" + i);
                    expect = "origin=";
                }
                if (r.status() != 200 || !r.body().startsWith(expect)) {
                    failed.incrementAndGet();
                    failures.add("client " + id + " " + what + ": " + r.status() + " " + r.body().trim());
                } else {
                    ok.incrementAndGet();
                }
                if (!c.isOpen()) {
                    broken.incrementAndGet();
                    failures.add("client " + id + " " + what + ": the proxy closed the connection");
                    c.close();
                    c = null;
                }
            } catch (IOException e) {
                broken.incrementAndGet();
                failed.incrementAndGet();
                failures.add("client " + id + " " + what + ": " + e);
                if (c != null) {
                    c.close();
                }
                c = null;
            }
        }
        if (c != null) {
            c.close();
        }
    }

    /** The app Service's slices for churn step {@code step}: new slice names every time. */
    private static String endpoints(List<LoopbackOrigin> app, int step) {
        int[][] set = ENDPOINT_SETS[(step / 2) % ENDPOINT_SETS.length];
        List<String> docs = new ArrayList<>();
        for (int[] e : set) {
            LoopbackOrigin o = app.get(e[0]);
            docs.add(slice(NS, "app-" + o.name() + "-" + Integer.toString(step, 36), "app", o.port(), e[1] == 1));
        }
        return documents(docs);
    }

    /**
     * The routes for churn step {@code step}: the loaded hosts (app.test: / and /ws to app; stable.test: / to other)
     * always; 0–4 extra hosts and one to three extra paths on app.test that vary with the step.
     */
    private static String routes(int step, String finalHost) {
        List<String> docs = new ArrayList<>();
        docs.add(ingress(NS, "app", List.of(new IngressPath("app.test", "/", "Prefix", "app"),
            new IngressPath("app.test", "/ws", "Prefix", "app"))));
        docs.add(ingress(NS, "stable", List.of(new IngressPath("stable.test", "/", "Prefix", "other"))));
        if (step >= 0) {
            int extras = step % 5;
            for (int j = 0; j < extras; j++) {
                int h = (step + j) % 9;
                docs.add(ingress(NS, "extra-" + h, List.of(new IngressPath("extra-" + h + ".test", "/", "Prefix",
                    "other"), new IngressPath("extra-" + h + ".test", "/p" + step % 7, "Exact", "app"))));
            }
            List<IngressPath> more = new ArrayList<>();
            for (int j = 0; j <= step % 3; j++) {
                more.add(new IngressPath("app.test", "/x" + (step + j) % 11, j % 2 == 0 ? "Prefix" : "Exact", "other"));
            }
            docs.add(ingress(NS, "app-extra", more));
        } else {
            docs.add(ingress(NS, "final", List.of(new IngressPath(finalHost, "/", "ImplementationSpecific", "app"))));
        }
        return documents(docs);
    }

    private static void assertFinalTableInFile(Path routes, int finalPort) {
        try (RouteTableFileReader reader = RouteTableFileReader.open(routes)) {
            RouteTable t = reader.poll();
            assertNotNull(t, "the route file holds a table");
            List<String> hosts = new ArrayList<>();
            for (VirtualHost h : t.hosts()) {
                hosts.add(h.host());
            }
            assertEquals(List.of("app.test", "final.test", "stable.test"), hosts);
            Backend app = null;
            for (Backend b : t.backends()) {
                if (b.name().equals(NS + "/app:80")) {
                    app = b;
                }
            }
            assertNotNull(app, "backend load/app:80 in " + t.backends());
            assertEquals(List.of(new Endpoint("127.0.0.1", finalPort)), app.endpoints());
            assertEquals("OPEN", reader.writerState());
        }
    }

    /** Polls with fresh requests until one satisfies {@code ok}; fails after {@code timeoutMs}. */
    static LoopbackClient.Response awaitAnswer(int port, String host, String path,
                                               Predicate<LoopbackClient.Response> ok, long timeoutMs)
            throws InterruptedException {
        long until = System.nanoTime() + timeoutMs * 1_000_000L;
        String last = "nothing";
        while (System.nanoTime() < until) {
            try (LoopbackClient c = new LoopbackClient(port, 2_000)) {
                while (System.nanoTime() < until) {
                    LoopbackClient.Response r = c.get(host, path);
                    if (ok.test(r)) {
                        return r;
                    }
                    last = r.status() + " " + r.body().trim();
                    Thread.sleep(10);
                }
            } catch (IOException e) {
                last = e.toString();
                Thread.sleep(50);
            }
        }
        throw new AssertionError(host + path + " did not answer as expected within " + timeoutMs + " ms; last: "
            + last);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
