package io.sluice.dataplane;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.control.RouteTableFollower;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.config.IdleMode;
import io.sluice.dataplane.demo.DemoBackends;
import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.route.Route;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code sluice dataplane --config FILE [--cpus LIST] [--idle MODE]}, {@code sluice demo [--port N] [--cpus LIST]}
 * and {@code sluice explain --config FILE --host H --path P}.
 */
public final class DataPlaneMain {
    private DataPlaneMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
            System.exit(2);
        }
        Map<String, String> opts = options(args, 1);
        try {
            switch (args[0]) {
                case "dataplane" -> runDataPlane(opts);
                case "demo" -> runDemo(opts);
                case "explain" -> explain(opts);
                default -> {
                    usage();
                    System.exit(2);
                }
            }
        } catch (ConfigLoader.ConfigException e) {
            System.err.println("sluice: config error: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void usage() {
        System.err.println("""
            usage: sluice dataplane --config FILE [--routes SHM_FILE] [--cpus 0,2-3] [--idle block|backoff|spin]
                                   [--coremap FILE|none] [--steering auto|cbpf|acceptor|none]
                   sluice demo [--port 8080] [--tls-port 8443] [--cpus LIST] [--routes SHM_FILE]
                   sluice explain --config FILE | --routes SHM_FILE --host HOST --path PATH""");
    }

    private static Map<String, String> options(String[] args, int from) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new ConfigLoader.ConfigException("unexpected argument '" + a + "'");
            }
            String k = a.substring(2);
            int eq = k.indexOf('=');
            if (eq > 0) {
                m.put(k.substring(0, eq), k.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                m.put(k, args[++i]);
            } else {
                m.put(k, "true");
            }
        }
        return m;
    }

    private static DataPlaneConfig applyOverrides(DataPlaneConfig c, Map<String, String> opts) {
        if (opts.containsKey("cpus")) {
            c = c.withCpus(ConfigLoader.parseCpus(opts.get("cpus")));
        }
        if (opts.containsKey("idle")) {
            c = c.withIdle(IdleMode.parse(opts.get("idle")));
        }
        if (opts.containsKey("coremap")) {
            c = c.withCoreMap(opts.get("coremap"));
        }
        if (opts.containsKey("steering")) {
            try {
                c = c.withSteering(io.sluice.dataplane.steering.SteeringMode.parse(opts.get("steering")));
            } catch (IllegalArgumentException e) {
                throw new ConfigLoader.ConfigException("--steering: " + e.getMessage());
            }
        }
        if (opts.containsKey("port") || opts.containsKey("tls-port")) {
            // --port replaces the first cleartext listener's port, --tls-port the first TLS listener's
            List<DataPlaneConfig.Listener> ls = new java.util.ArrayList<>(c.listeners());
            for (String opt : List.of("port", "tls-port")) {
                if (!opts.containsKey(opt)) {
                    continue;
                }
                boolean tls = opt.equals("tls-port");
                int port = Integer.parseInt(opts.get(opt));
                int at = -1;
                for (int i = 0; i < ls.size(); i++) {
                    if (ls.get(i).tls() == tls) {
                        at = i;
                        break;
                    }
                }
                DataPlaneConfig.Listener l = at < 0 ? new DataPlaneConfig.Listener("0.0.0.0", port, tls, false)
                    : new DataPlaneConfig.Listener(ls.get(at).address(), port, tls, ls.get(at).proxyProtocol());
                if (at < 0) {
                    ls.add(l);
                } else {
                    ls.set(at, l);
                }
            }
            c = c.withListeners(ls);
        }
        return c;
    }

    private static void runDataPlane(Map<String, String> opts) throws Exception {
        String file = opts.get("config");
        if (file == null) {
            throw new ConfigLoader.ConfigException("--config FILE is required");
        }
        Path path = Path.of(file);
        // Generation 0: tables from the agent start at 1, reloads count up from here.
        DataPlaneConfig config = applyOverrides(ConfigLoader.load(path, 0), opts);
        DataPlane dp = DataPlane.start(config);
        printReady(dp);
        String routes = opts.getOrDefault("routes", config.routesFile());
        RouteTableFollower follower = routes == null ? null : followRoutes(dp, Path.of(routes));
        AtomicLong generation = new AtomicLong(0);
        installReloadOnHup(() -> {
            try {
                DataPlaneConfig next = ConfigLoader.load(path, generation.incrementAndGet());
                dp.update(next.routes());
                System.out.println("sluice: reloaded routes from " + path + " (generation " + generation.get() + ")");
            } catch (RuntimeException e) {
                System.err.println("sluice: reload failed, keeping the current routes: " + e.getMessage());
            }
        });
        awaitShutdown(dp, follower);
    }

    /** Follows an agent's shared-memory route file: its tables replace the config file's routes as they come. */
    private static RouteTableFollower followRoutes(DataPlane dp, Path file) {
        System.out.println("sluice: following route tables published by the agent in " + file);
        return RouteTableFollower.start(dp, file);
    }

    private static void runDemo(Map<String, String> opts) throws Exception {
        String yaml;
        try (InputStream in = DataPlaneMain.class.getResourceAsStream("demo.yaml")) {
            yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Integer> origins = new LinkedHashMap<>();
        origins.put("web-1", 9101);
        origins.put("web-2", 9102);
        origins.put("api", 9103);
        DemoBackends backends = DemoBackends.start(origins);
        DataPlaneConfig config = applyOverrides(ConfigLoader.parse(yaml, 1), opts);
        String routes = opts.get("routes");
        if (routes != null) {
            // Routes come from the agent (bin/sluice demo runs it on the sample manifests), not from demo.yaml.
            config = config.withRoutes(io.sluice.routetable.RouteTable.empty(0));
        }
        DataPlane dp = DataPlane.start(config);
        int port = config.listeners().get(0).port();
        printReady(dp);
        RouteTableFollower follower = routes == null ? null : followRoutes(dp, Path.of(routes));
        if (follower != null) {
            long until = System.nanoTime() + 10_000_000_000L;
            while (follower.applied() == 0 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            System.out.println(follower.applied() > 0
                ? "sluice: route table generation " + dp.current().generation() + " from the agent is serving"
                : "sluice: no route table from the agent yet (10 s); serving 404 until one arrives");
        }
        AutoCloseable closeAll = () -> {
            if (follower != null) {
                follower.close();
            }
            backends.close();
        };
        String base = "http://127.0.0.1:" + port;
        int tlsPort = config.listeners().stream().filter(DataPlaneConfig.Listener::tls)
            .mapToInt(DataPlaneConfig.Listener::port).findFirst().orElse(-1);
        System.out.println("""

            Demo backends: web-1 on :9101 and web-2 on :9102 (round robin), api on :9103.
            Try:
              curl -H 'Host: demo.local' %1$s/                # web-1 and web-2 in turn
              curl -H 'Host: demo.local' %1$s/api/users       # Prefix /api -> api
              curl -H 'Host: shop.demo.local' %1$s/           # wildcard *.demo.local -> web
              curl -H 'Host: demo.local' -d hello %1$s/api/echo   # body streamed through
              curl -i -H 'Host: nowhere.example' %1$s/        # no route -> 404
              wrk -c 32 -d 5s -H 'Host: demo.local' %1$s/     # load
              curl -k --resolve demo.local:%2$d:127.0.0.1 https://demo.local:%2$d/   # TLS (demo-tls Secret)
              openssl s_client -connect 127.0.0.1:%2$d -servername demo.local </dev/null  # its certificate
            Ctrl-C to stop.""".formatted(base, tlsPort));
        awaitShutdown(dp, closeAll);
    }

    private static void explain(Map<String, String> opts) {
        String file = opts.get("config");
        String routesFile = opts.get("routes");
        if ((file == null && routesFile == null) || !opts.containsKey("host") || !opts.containsKey("path")) {
            throw new ConfigLoader.ConfigException(
                "explain needs --config FILE or --routes SHM_FILE, and --host HOST --path PATH");
        }
        io.sluice.routetable.RouteTable table;
        if (routesFile != null) {
            // The table the agent published last, as a data plane following the file would serve it.
            table = currentTableIn(Path.of(routesFile));
        } else {
            table = ConfigLoader.load(Path.of(file), 1).routes();
        }
        io.sluice.dataplane.route.Router router = io.sluice.dataplane.route.Router.compile(table);
        Route r = router.explain(opts.get("host"), opts.get("path"));
        if (r == null) {
            System.out.println("no route: 404 (no host block or path matches and there is no default backend)");
            return;
        }
        var b = table.backends().get(r.backend);
        System.out.println("matched: " + r);
        if (r.source != null && !r.source.isEmpty()) {
            System.out.println("source:  " + r.source);
        }
        List<String> endpoints = new ArrayList<>();
        for (io.sluice.routetable.Endpoint e : b.endpoints()) {
            endpoints.add(e + (e.weight() != 1 ? " weight " + e.weight() : "") + (e.draining() ? " (draining)" : ""));
        }
        System.out.println("backend: " + b.name() + " (" + b.balancer().name().toLowerCase(java.util.Locale.ROOT)
            + ") endpoints " + endpoints + (endpoints.isEmpty() ? ": requests get 503" : ""));
    }

    /** Reads the current table from an agent's route file (retrying briefly if a publication is in progress). */
    private static io.sluice.routetable.RouteTable currentTableIn(Path routesFile) {
        if (!java.nio.file.Files.exists(routesFile)) {
            throw new ConfigLoader.ConfigException(routesFile + ": no route file (is the agent running with --routes "
                + routesFile + "?)");
        }
        try (io.sluice.routetable.shm.RouteTableFileReader reader =
                 io.sluice.routetable.shm.RouteTableFileReader.open(routesFile)) {
            io.sluice.routetable.RouteTable t = null;
            for (int i = 0; i < 50 && t == null; i++) {
                t = reader.poll();
                if (t == null) {
                    java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L);
                }
            }
            if (t == null) {
                throw new ConfigLoader.ConfigException(routesFile + ": no table to read"
                    + (reader.lastRejection() != null ? " (rejected: " + reader.lastRejection().getMessage() + ")"
                    : ""));
            }
            System.out.println("route table: generation " + t.generation() + " from " + routesFile + " (writer "
                + reader.writerState().toLowerCase(java.util.Locale.ROOT) + ", pid " + reader.writerPid() + ")");
            return t;
        }
    }

    static void printReady(DataPlane dp) {
        List<String> cpus = new ArrayList<>();
        for (Shard s : dp.shards()) {
            cpus.add(s.cpu + (s.pinnedCpu() == s.cpu ? "" : "(unpinned)"));
        }
        System.out.println("sluice data plane ready: " + dp.shards().size() + " shard(s) on CPUs " + cpus
            + ", listening on " + dp.config().listeners().stream().map(l -> l.address() + ":" + l.port()).toList()
            + ", idle=" + dp.config().idle().name().toLowerCase(java.util.Locale.ROOT)
            + ", route table generation " + dp.current().generation());
        System.out.println("sluice: " + dp.steering().summary());
        System.out.flush();
    }

    @SuppressWarnings("restriction")
    private static void installReloadOnHup(Runnable reload) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> reload.run());
        } catch (IllegalArgumentException e) {
            // No SIGHUP on this platform: reload by restart only.
        }
    }

    private static void awaitShutdown(DataPlane dp, AutoCloseable extra) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("sluice: stopping, draining open connections (up to 5 s)");
            dp.shutdown(5_000);
            System.out.println("sluice: " + io.sluice.dataplane.steering.SteeringPlan.report(dp.shards()));
            if (extra != null) {
                try {
                    extra.close();
                } catch (Exception ignored) {
                    // shutting down anyway
                }
            }
            done.countDown();
        }, "sluice-shutdown"));
        done.await();
    }
}
