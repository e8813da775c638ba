package io.sluice.dataplane.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.sluice.dataplane.metrics.SluiceCollector;
import io.sluice.dataplane.proxy.CompiledTable;
import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.proxy.ShardBackend;
import io.sluice.dataplane.proxy.ShardEndpoint;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.VirtualHost;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;

/**
 * The admin port: {@code /healthz}, {@code /readyz}, {@code /metrics}, {@code /routes}, {@code /explain},
 * {@code /status} (an HTML page without external assets) and {@code /status.json} (what the page polls).
 *
 * <p>It runs on its own thread ({@code sluice-admin}: the JDK's HTTP server with a one-thread executor), never on a
 * shard, and reads shard data only through what shards publish: volatile fields (installed generation, swap latency,
 * installed backends, open connections) and plain counters read racily.
 */
public final class AdminServer implements AutoCloseable {
    private final DataPlane dp;
    private final HttpServer server;
    private final ExecutorService executor;
    private final CollectorRegistry registry;
    private final LongSupplier readyGeneration;
    private final String statusPage;

    /**
     * @param readyGeneration the generation every shard must have installed to be ready ({@code Long.MAX_VALUE}: not
     *                        yet, e.g. while the first table from the agent has not arrived)
     */
    private AdminServer(DataPlane dp, InetSocketAddress address, LongSupplier readyGeneration) throws IOException {
        this.dp = dp;
        this.readyGeneration = readyGeneration;
        this.registry = SluiceCollector.registry(dp);
        this.statusPage = resource("status.html");
        this.server = HttpServer.create(address, 64);
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "sluice-admin");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    /** @param extra more collectors for {@code /metrics} (e.g. the agent link's) */
    public static AdminServer start(DataPlane dp, String address, int port, LongSupplier readyGeneration,
                                    io.prometheus.client.Collector... extra) throws IOException {
        AdminServer a = new AdminServer(dp, new InetSocketAddress(address, port), readyGeneration);
        for (io.prometheus.client.Collector c : extra) {
            a.registry.register(c);
        }
        a.server.start();
        return a;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public boolean ready() {
        return dp.ready(readyGeneration.getAsLong());
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            if (!x.getRequestMethod().equals("GET") && !x.getRequestMethod().equals("HEAD")) {
                send(x, 405, "text/plain", "only GET\n");
                return;
            }
            switch (path) {
                case "/healthz" -> send(x, 200, "text/plain", "ok\n");
                case "/readyz" -> readyz(x);
                case "/metrics" -> metrics(x);
                case "/routes" -> send(x, 200, "application/json", routes(dp.current().source));
                case "/explain" -> explain(x);
                case "/status", "/" -> send(x, 200, "text/html; charset=utf-8", statusPage);
                case "/status.json" -> send(x, 200, "application/json", status());
                default -> send(x, 404, "text/plain", "not found; try /status, /metrics, /readyz, /healthz, /routes, "
                    + "/explain?host=H&path=P\n");
            }
        } catch (RuntimeException e) {
            send(x, 500, "text/plain", "error: " + e + "\n");
        }
    }

    private void readyz(HttpExchange x) throws IOException {
        if (dp.ops().draining()) {
            send(x, 503, "text/plain", "draining\n");
        } else if (ready()) {
            send(x, 200, "text/plain", "ready: route table generation " + dp.current().generation() + "\n");
        } else {
            long need = readyGeneration.getAsLong();
            send(x, 503, "text/plain", need == Long.MAX_VALUE ? "not ready: waiting for the first route table\n"
                : "not ready: shards have not installed generation " + need + " yet\n");
        }
    }

    private void metrics(HttpExchange x) throws IOException {
        x.getResponseHeaders().set("Content-Type", TextFormat.CONTENT_TYPE_004);
        x.sendResponseHeaders(200, 0);
        try (Writer w = new OutputStreamWriter(x.getResponseBody(), StandardCharsets.UTF_8)) {
            TextFormat.write004(w, registry.metricFamilySamples());
        }
    }

    private void explain(HttpExchange x) throws IOException {
        Map<String, String> q = query(x.getRequestURI().getRawQuery());
        if (!q.containsKey("host") || !q.containsKey("path")) {
            send(x, 400, "text/plain", "usage: /explain?host=HOST&path=/PATH\n");
            return;
        }
        CompiledTable t = dp.current();
        Explainer.Explanation e = Explainer.explain(t.source, t.router, q.get("host"), q.get("path"));
        send(x, 200, "application/json", Explainer.json(e, dp.ops().health));
    }

    /** The installed table as JSON; TLS entries show names and hosts only, never key material. */
    static String routes(RouteTable t) {
        Json j = new Json().obj().field("generation", t.generation()).key("hosts").arr();
        for (VirtualHost vh : t.hosts()) {
            j.obj().field("host", vh.host().isEmpty() ? "*" : vh.host()).key("paths").arr();
            for (PathRule r : vh.paths()) {
                j.obj().field("path", r.path()).field("type", r.type().name()).field("backend",
                    t.backends().get(r.backend()).name()).field("source", r.source()).end();
            }
            j.endArr().end();
        }
        j.endArr().field("defaultBackend", t.defaultBackend() < 0 ? null : t.backends().get(t.defaultBackend()).name())
            .key("backends").arr();
        for (Backend b : t.backends()) {
            j.obj().field("name", b.name()).field("balancer", b.balancer().name().toLowerCase(Locale.ROOT))
                .key("endpoints").arr();
            for (Endpoint e : b.endpoints()) {
                j.obj().field("address", e.toString()).field("weight", e.weight()).field("draining", e.draining()).end();
            }
            j.endArr().end();
        }
        j.endArr().key("tls").arr();
        for (TlsCertificate c : t.tls()) {
            j.obj().field("name", c.name()).key("hosts").arr();
            for (String h : c.hosts()) {
                j.val(h);
            }
            j.endArr().end();
        }
        return j.endArr().end().toString();
    }

    /** What the status page shows. */
    String status() {
        long nowMs = System.nanoTime() / 1_000_000;
        CompiledTable t = dp.current();
        Json j = new Json().obj().field("ready", ready()).field("draining", dp.ops().draining())
            .field("generation", t.generation()).field("steering", dp.steering() == null ? "" : dp.steering().summary())
            .field("accessLog", dp.ops().accessLog == null ? "off" : dp.ops().accessLog.describe())
            .key("shards").arr();
        for (Shard s : dp.shards()) {
            j.obj().field("id", s.id).field("cpu", s.cpu).field("pinned", s.pinnedCpu() == s.cpu)
                .field("connections", s.liveConnections()).field("connectionsTotal", s.stats.connections)
                .field("requests", s.stats.requests).field("responses", s.stats.responses)
                .field("localResponses", s.stats.localResponses).field("retries", s.stats.retries)
                .field("generation", s.installedGeneration()).field("swapMicros", s.lastSwapNanos() / 1_000).end();
        }
        j.endArr().key("routes").arr();
        for (VirtualHost vh : t.source.hosts()) {
            for (PathRule r : vh.paths()) {
                j.obj().field("host", vh.host().isEmpty() ? "*" : vh.host()).field("path", r.path())
                    .field("type", r.type().name()).field("backend", t.source.backends().get(r.backend()).name())
                    .field("source", r.source()).end();
            }
        }
        j.endArr().key("endpoints").arr();
        Map<String, int[]> byEndpoint = new java.util.LinkedHashMap<>(); // service|endpoint -> active, conns, ejected
        for (Shard s : dp.shards()) {
            for (ShardBackend b : s.installedBackends()) {
                for (ShardEndpoint e : b.endpoints()) {
                    int[] a = byEndpoint.computeIfAbsent(b.name() + "|" + e.key(), k -> new int[3]);
                    a[0] += e.active();
                    a[1] += e.pool().openConnections();
                    a[2] += e.pool().ejected(nowMs) ? 1 : 0;
                }
            }
        }
        for (Map.Entry<String, int[]> e : byEndpoint.entrySet()) {
            String[] k = e.getKey().split("\\|", 2);
            EndpointHealth h = dp.ops().health.all().get(k[1]);
            j.obj().field("service", k[0]).field("endpoint", k[1])
                .field("health", h == null || h.checks() == 0 ? "unchecked" : h.healthy() ? "healthy" : "unhealthy")
                .field("lastCheck", h == null ? "not checked" : h.lastResult())
                .field("active", e.getValue()[0]).field("connections", e.getValue()[1])
                .field("ejectedOnShards", e.getValue()[2]).end();
        }
        return j.endArr().end().toString();
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new HashMap<>();
        if (raw == null) {
            return m;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            m.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
        }
        return m;
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, head ? -1 : b.length);
        if (!head) {
            try (OutputStream o = x.getResponseBody()) {
                o.write(b);
            }
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = AdminServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
