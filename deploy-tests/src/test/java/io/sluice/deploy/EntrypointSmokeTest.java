package io.sluice.deploy;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's contents without Docker: {@code docker/stage.sh} lays out the built jars, {@code docker/jlink.sh} links
 * the runtime from this JDK 25 (the same two steps the Dockerfile's build stage runs), and {@code docker/entrypoint.sh}
 * starts each program from them as a container would. Then: the agent and the data plane share a route file as in the
 * pod, the init step writes a core map for its own CPUs on a recorded NIC (nic-tuning fixture) that the data plane
 * pins to, and (as root, in a network namespace of its own) the data plane binds port 80 as uid 10001 with nothing
 * but CAP_NET_BIND_SERVICE in its bounding set, through the image's java-netbind launcher.
 *
 * <p>Fixed ports from the deploy range: 21500 (data plane). The origin listens on an ephemeral port.
 */
class EntrypointSmokeTest {
    private static final int PORT = 21500;
    private static Path image;       // world-readable: the non-root run needs it
    private static Path home;
    private static Path java;
    private static Path entrypoint;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildImageTree() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home"));
        assertTrue(Runtime.version().feature() >= 25, "tests run on JDK 25 (toolchains)");
        image = Files.createTempDirectory(Path.of("/tmp"), "sluice-image-");
        home = image.resolve("sluice");
        java = image.resolve("java");
        Result staged = run(List.of(Manifests.DOCKER.resolve("stage.sh").toString(), Manifests.ROOT.toString(),
            home.toString()), Map.of(), 120);
        assertEquals(0, staged.code(),
            "stage.sh (needs `mvn package` of the modules first, e.g. -am):\n" + staged.out());
        Result linked = run(List.of(Manifests.DOCKER.resolve("jlink.sh").toString(), jdk.toString(),
            home.resolve("lib").toString(), java.toString()), Map.of(), 300);
        assertEquals(0, linked.code(), linked.out());
        assertTrue(linked.out().contains("java.base"), linked.out());
        entrypoint = home.resolve("bin/sluice-entrypoint");
        Files.createDirectories(entrypoint.getParent());
        Files.copy(Manifests.DOCKER.resolve("entrypoint.sh"), entrypoint);
        try (Stream<Path> s = Files.walk(image)) {
            for (Path p : s.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                    Files.isDirectory(p) || Files.isExecutable(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }

    @AfterAll
    static void clean() throws IOException {
        if (image != null) {
            try (Stream<Path> s = Files.walk(image)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    record Result(int code, String out) {
    }

    static Result run(List<String> cmd, Map<String, String> env, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), "timed out: " + cmd);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static Map<String, String> imageEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("SLUICE_HOME", home.toString());
        env.put("JAVA_HOME", java.toString());
        return env;
    }

    private static Process start(Path log, Map<String, String> extraEnv, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(entrypoint.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(imageEnv());
        pb.environment().putAll(extraEnv);
        return pb.start();
    }

    /** One HTTP/1.1 request with a Host header; the status code, or -1 when nothing listens yet. */
    static int status(int port, String host) {
        return status(port, host, "/");
    }

    static int status(int port, String host, String path) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5_000);
            OutputStream o = s.getOutputStream();
            o.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = s.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(head.substring(9, 12));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();   // SIGTERM, as the kubelet sends
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void helpAndUnknownCommands() throws Exception {
        Result help = run(List.of(entrypoint.toString(), "help"), imageEnv(), 30);
        assertEquals(0, help.code());
        for (String c : List.of("dataplane", "agent", "nic-tuning", "nic-tuning-init", "explain")) {
            assertTrue(help.out().contains(c), help.out());
        }
        Result bad = run(List.of(entrypoint.toString(), "bogus"), imageEnv(), 30);
        assertEquals(2, bad.code(), bad.out());
        Result agentHelp = run(List.of(entrypoint.toString(), "agent", "--help"), imageEnv(), 60);
        assertEquals(0, agentHelp.code(), agentHelp.out());
        assertTrue(agentHelp.out().contains("--routes FILE"), agentHelp.out());
    }

    @Test
    void agentPublishesAndTheDataPlaneServesThroughTheSharedRouteFile() throws Exception {
        Path dir = tmp.resolve("pod");
        Files.createDirectories(dir);
        Path run = Files.createDirectories(dir.resolve("run"));
        Path manifests = Files.createDirectories(dir.resolve("manifests"));
        HttpServer origin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        origin.createContext("/", ex -> {
            if (ex.getRequestURI().getPath().equals("/slow")) {
                try {
                    Thread.sleep(1_500);   // in flight when SIGTERM arrives: the drain must let it finish
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = "origin".getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        origin.start();
        int originPort = origin.getAddress().getPort();
        Files.writeString(manifests.resolve("app.yaml"), """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: sluice}
            spec: {controller: sluice.io/ingress-controller}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec: {ports: [{name: http, port: 80, targetPort: %1$d}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            ports: [{name: http, port: %1$d}]
            endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web, namespace: shop}
            spec:
              ingressClassName: sluice
              rules:
                - host: shop.example.com
                  http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
            """.formatted(originPort));
        // The ConfigMap's data plane config on loopback test ports. The admin listener and the drain setting only where
        // this data plane knows them (the operations branch adds them; WiringTest checks the real ConfigMap).
        boolean admin = dataPlaneHasAdminListener();
        int adminPort = PORT + 2;
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
            listeners: [{address: 127.0.0.1, port: %d}]
            cpus: "0"
            coreMap: none
            routesFile: %s
            """.formatted(PORT, run.resolve("routes")) + (admin ? """
            admin: {address: 127.0.0.1, port: %d}
            shutdown: {drainSeconds: 5}
            """.formatted(adminPort) : ""));
        Process dp = null;
        Process agent = null;
        try {
            // The data plane first, as it may come up before the agent in the pod: no table yet → 404.
            dp = start(dir.resolve("dataplane.log"), Map.of("SLUICE_HEAP", "256m"), "dataplane", "--config",
                config.toString());
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (status(PORT, "shop.example.com") != 404) {
                assertTrue(dp.isAlive() && System.nanoTime() < deadline,
                    Files.readString(dir.resolve("dataplane.log")));
                Thread.sleep(100);
            }
            agent = start(dir.resolve("agent.log"), Map.of(), "agent", "--manifests", manifests.toString(),
                "--routes", run.resolve("routes").toString());
            while (status(PORT, "shop.example.com") != 200) {
                assertTrue(agent.isAlive() && dp.isAlive() && System.nanoTime() < deadline,
                    Files.readString(dir.resolve("agent.log")) + Files.readString(dir.resolve("dataplane.log")));
                Thread.sleep(100);
            }
            assertEquals(404, status(PORT, "elsewhere.example.com"));
            if (admin) {
                // The probes of the DaemonSet: alive, ready once a table is loaded, metrics as text.
                assertEquals(200, status(adminPort, "x", "/healthz"));
                while (status(adminPort, "x", "/readyz") != 200) {
                    assertTrue(System.nanoTime() < deadline, "/readyz never 200 with a table loaded");
                    Thread.sleep(100);
                }
                assertEquals(200, status(adminPort, "x", "/metrics"));
            }
            stop(agent);
            assertEquals(200, status(PORT, "shop.example.com"), "the last table keeps serving without the agent");

            // SIGTERM as the kubelet sends it, with a request in flight: it completes; readiness turns off at once.
            int[] slow = {0};
            Thread inFlight = new Thread(() -> slow[0] = status(PORT, "shop.example.com", "/slow"));
            inFlight.start();
            Thread.sleep(300);
            dp.destroy();
            if (admin) {
                long until = System.nanoTime() + 1_000_000_000L;
                int ready = status(adminPort, "x", "/readyz");
                while (ready == 200 && System.nanoTime() < until) {
                    Thread.sleep(20);
                    ready = status(adminPort, "x", "/readyz");
                }
                assertNotEquals(200, ready, "/readyz still 200 a second after SIGTERM");
            }
            inFlight.join(10_000);
            assertEquals(200, slow[0], "the request in flight at SIGTERM was drained, not cut");
            assertTrue(dp.waitFor(20, TimeUnit.SECONDS));
            String log = Files.readString(dir.resolve("dataplane.log"));
            assertTrue(log.contains("following route tables published by the agent in " + run.resolve("routes")), log);
            assertTrue(log.contains("draining"), "SIGTERM drains: " + log);
        } finally {
            stop(agent);
            stop(dp);
            origin.stop(0);
        }
    }

    /** Whether this data plane's config knows the admin listener and the drain setting (the operations branch). */
    static boolean dataPlaneHasAdminListener() {
        try {
            io.sluice.dataplane.config.ConfigLoader.parse(
                "admin: {address: 127.0.0.1, port: 10254}\nshutdown: {drainSeconds: 25}\n", 0);
            return true;
        } catch (io.sluice.dataplane.config.ConfigLoader.ConfigException e) {
            return false;
        }
    }

    @Test
    void initStepWritesTheCoreMapForItsCpusAndTheDataPlanePinsToIt() throws Exception {
        Path dir = tmp.resolve("init");
        Files.createDirectories(dir);
        // A recorded two-socket mlx5 host (nic-tuning's fixture), copied: apply writes into it.
        Path fixture = dir.resolve("host");
        Path source = Manifests.ROOT.resolve("nic-tuning/src/test/resources/fixtures/mlx5-2socket");
        try (Stream<Path> s = Files.walk(source)) {
            for (Path p : s.toList()) {
                Path t = fixture.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        Map<String, String> env = imageEnv();
        env.put("SLUICE_HOST_ROOT", fixture.resolve("root").toString());
        env.put("SLUICE_COREMAP", dir.resolve("run/coremap.json").toString());
        env.put("SLUICE_NIC_TUNING_STATE", dir.resolve("state/nic-tuning-state.json").toString());
        List<String> cmd = List.of(entrypoint.toString(), "nic-tuning-init", "--nic", "ens1f0np0",
            "--ethtool-fixtures", fixture.resolve("ethtool").toString());

        env.put("SLUICE_NIC_TUNING", "off");
        Result off = run(cmd, env, 60);
        assertEquals(0, off.code(), off.out());
        assertFalse(Files.exists(dir.resolve("run/coremap.json")));

        env.put("SLUICE_NIC_TUNING", "apply");
        Result applied = run(cmd, env, 120);
        assertEquals(0, applied.code(), applied.out());
        assertTrue(applied.out().contains("0 failed"), applied.out());
        assertTrue(Files.exists(dir.resolve("state/nic-tuning-state.json")), "original values kept for revert");
        String cpus = Files.readAllLines(Path.of("/proc/self/status")).stream()
            .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow().split(":")[1].strip();
        assertTrue(applied.out().contains("for CPUs " + cpus), applied.out());
        String map = Files.readString(dir.resolve("run/coremap.json"));
        assertTrue(map.contains("\"format\": \"sluice-coremap\""), map);
        List<Integer> expected = expand(cpus);
        assertTrue(map.contains("{\"shard\": 0, \"cpu\": " + expected.get(0) + ","), "the container's CPUs: " + map);

        // The data plane reads it (coreMap from its config) and pins one shard per mapped CPU.
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
            listeners: [{address: 127.0.0.1, port: %d}]
            coreMap: %s
            """.formatted(PORT + 1, dir.resolve("run/coremap.json")));
        Process dp = start(dir.resolve("dataplane.log"), Map.of("SLUICE_HEAP", "256m"), "dataplane", "--config",
            config.toString());
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (status(PORT + 1, "x") != 404) {
                assertTrue(dp.isAlive() && System.nanoTime() < deadline,
                    Files.readString(dir.resolve("dataplane.log")));
                Thread.sleep(100);
            }
        } finally {
            stop(dp);
        }
        String log = Files.readString(dir.resolve("dataplane.log"));
        assertTrue(log.contains("core map " + dir.resolve("run/coremap.json")), log);
        assertTrue(log.contains(expected.size() + " shard(s) on CPUs " + expected), log);
    }

    /** "0-2,5" → [0, 1, 2, 5] */
    static List<Integer> expand(String list) {
        List<Integer> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String[] r = part.split("-");
            for (int c = Integer.parseInt(r[0]); c <= Integer.parseInt(r[r.length - 1]); c++) {
                out.add(c);
            }
        }
        return out;
    }

    /** As root only: a network namespace, uid 10001, bounding set reduced, a private ld.so.cache as in the image. */
    @Test
    void dataPlaneBindsPort80AsNonRootOnlyThroughJavaNetbind() throws Exception {
        Assumptions.assumeTrue("0".equals(run(List.of("id", "-u"), Map.of(), 10).out().strip()), "needs root");
        for (String tool : List.of("unshare", "setpriv", "setcap", "ldconfig", "curl", "ip")) {
            Assumptions.assumeTrue(DockerfileTest.onPath(tool) || Files.isExecutable(Path.of("/usr/sbin", tool))
                || Files.isExecutable(Path.of("/sbin", tool)), tool + " not installed");
        }
        // What the Dockerfile's runtime stage does: java-netbind with the file capability, the runtime's lib
        // directory in the loader's cache (the image's /etc/ld.so.conf.d entry; here a private cache, bind-mounted).
        Path netbind = java.resolve("bin/java-netbind");
        Files.copy(java.resolve("bin/java"), netbind);
        Result cap = run(List.of("setcap", "cap_net_bind_service=+ep", netbind.toString()), Map.of(), 30);
        Assumptions.assumeTrue(cap.code() == 0, "file capabilities unsupported here: " + cap.out());
        Path conf = image.resolve("ld.so.conf");
        Files.writeString(conf, "include /etc/ld.so.conf.d/*.conf\n" + java.resolve("lib") + "\n");
        Result ld = run(List.of("ldconfig", "-f", conf.toString(), "-C", image.resolve("ld.so.cache").toString()),
            Map.of(), 60);
        assertEquals(0, ld.code(), ld.out());
        Files.setPosixFilePermissions(image.resolve("ld.so.cache"), PosixFilePermissions.fromString("rw-r--r--"));
        Path out = Files.createDirectories(image.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path config = image.resolve("port80.yaml");
        Files.writeString(config, "listeners: [{port: 80}]\ncpus: \"0\"\ncoreMap: none\n");
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
        Path probe = image.resolve("probe.sh");
        Files.writeString(probe, """
            #!/usr/bin/env bash
            # In the namespace, as uid 10001: start the data plane on port 80 through the entrypoint, ask it once.
            export SLUICE_HOME=%1$s JAVA_HOME=%2$s SLUICE_HEAP=256m
            %1$s/bin/sluice-entrypoint dataplane --config %3$s > %4$s/dp-$1.log 2>&1 &
            pid=$!
            code=000
            for _ in $(seq 1 150); do
              code=$(curl -s -o /dev/null -w '%%{http_code}' -H 'Host: x' http://127.0.0.1:80/ || true)
              [ "$code" != 000 ] && break
              kill -0 "$pid" 2>/dev/null || break
              sleep 0.1
            done
            echo "status $code"
            grep -E '^(CapEff|Uid):' /proc/$pid/status 2>/dev/null
            kill -TERM "$pid" 2>/dev/null; wait "$pid"; echo "exit $?"
            """.formatted(home, java, config, out));
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rwxr-xr-x"));

        String inNamespace = """
            ip link set lo up
            mount --bind %s /etc/ld.so.cache
            exec setpriv --reuid 10001 --regid 10001 --clear-groups --inh-caps=-all --bounding-set=-all$1 %s $2
            """.formatted(image.resolve("ld.so.cache"), probe);
        Result ok = run(List.of("unshare", "--net", "--mount", "bash", "-c", inNamespace, "ns", ",+net_bind_service",
            "with-cap"), Map.of(), 120);
        Path okFile = out.resolve("dp-with-cap.log");
        String okLog = Files.exists(okFile) ? Files.readString(okFile) : "";
        assertTrue(ok.out().contains("status 404"), ok.out() + okLog);
        assertTrue(ok.out().contains("CapEff:\t0000000000000400"), "NET_BIND_SERVICE alone: " + ok.out());
        assertTrue(ok.out().matches("(?s).*Uid:\\s+10001\\s+10001.*"), ok.out());
        assertTrue(okLog.contains("listening on [0.0.0.0:80]"), okLog);

        // Without the capability in the bounding set (as with capabilities: drop ALL and nothing added) the entrypoint
        // does not try java-netbind (its execve would fail), and the bind is refused.
        Result refused = run(List.of("unshare", "--net", "--mount", "bash", "-c", inNamespace, "ns", "", "no-cap"),
            Map.of(), 120);
        String refusedLog = Files.readString(out.resolve("dp-no-cap.log"));
        assertTrue(refused.out().contains("status 000"), refused.out() + refusedLog);
        assertTrue(refusedLog.toLowerCase(Locale.ROOT).contains("permission denied"), refusedLog);
    }
}
