package io.sluice.agent.bench;

import static io.sluice.agent.harness.ManifestFiles.documents;
import static io.sluice.agent.harness.ManifestFiles.ingress;
import static io.sluice.agent.harness.ManifestFiles.ingressClass;
import static io.sluice.agent.harness.ManifestFiles.service;
import static io.sluice.agent.harness.ManifestFiles.slice;

import io.sluice.agent.harness.ChildJvm;
import io.sluice.agent.harness.LoopbackClient;
import io.sluice.agent.harness.LoopbackOrigin;
import io.sluice.agent.harness.ManifestFiles;
import io.sluice.agent.harness.ManifestFiles.IngressPath;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * File change → traffic on the new route (issue 3 goal: p99 ≤ 50 ms). Not a unit test: a main, run by hand (command
 * in BENCHMARKS.md and {@code controlplane-agent/bench.sh}).
 *
 * <p>Three processes, as on a node: the agent ({@code AgentMain --manifests DIR --routes FILE}, default options
 * unless more are given), the data plane ({@code DataPlaneMain dataplane --config F --routes FILE --cpus 0,1}) and
 * this JVM, which holds two loopback origins, edits the manifests and polls through the data plane with a keep-alive
 * client (one request every ~0.25 ms) until the change answers. Edits alternate between two kinds, measured
 * separately:
 * <ul>
 *   <li>route: {@code 30-bench.yaml} is replaced by an Ingress for a new host ({@code rN.test}; the previous one
 *       goes): done when {@code rN.test} answers 200 instead of 404;</li>
 *   <li>endpoint: the Service's EndpointSlice moves from one origin to the other: done when {@code base.test}
 *       answers from the new origin.</li>
 * </ul>
 * Files are replaced atomically (written under a hidden name, renamed), as GitOps tools and ConfigMap volumes do; the
 * time runs from just before the write. Edits are spaced by a random 60–120 ms after the previous one answered, so
 * each is a change of its own, not part of a burst. The first {@value #WARMUP} of each kind (the agent's JIT warm-up)
 * are reported apart.
 *
 * <p>Arguments: {@code [edits per kind (120)] [agent options, e.g. --debounce-ms 20]}.
 */
public final class FileChangeLatencyBenchmark {
    private static final int WARMUP = 10;
    private static final String NS = "bench";

    private FileChangeLatencyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int edits = args.length > 0 ? Integer.parseInt(args[0]) : 120;
        List<String> agentOptions = args.length > 1 ? List.of(Arrays.copyOfRange(args, 1, args.length)) : List.of();
        Path tmp = Files.createTempDirectory("sluice-filechange-bench");
        Path manifests = Files.createDirectories(tmp.resolve("manifests"));
        Path shm = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : tmp;
        Path routes = shm.resolve("sluice-filechange-bench-" + ProcessHandle.current().pid());
        System.out.printf("JVM %s, %d CPUs; %d edits per kind; agent options %s%n", Runtime.version(),
            Runtime.getRuntime().availableProcessors(), edits, agentOptions.isEmpty() ? "(defaults)" : agentOptions);
        try (LoopbackOrigin a = LoopbackOrigin.start("a"); LoopbackOrigin b = LoopbackOrigin.start("b")) {
            ManifestFiles.write(manifests, "00-base.yaml", documents(List.of(ingressClass(), service(NS, "app"),
                ingress(NS, "base", List.of(new IngressPath("base.test", "/", "Prefix", "app"))))));
            ManifestFiles.write(manifests, "10-app-endpoints.yaml", slice(NS, "app-1", "app", a.port(), false));
            ManifestFiles.write(manifests, "30-bench.yaml", benchIngress(0));
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Path config = tmp.resolve("dataplane.yaml");
            Files.writeString(config, "listeners: [{address: 127.0.0.1, port: " + port + "}]\nidle: block\n");
            List<String> agentArgs = new ArrayList<>(List.of("--manifests", manifests.toString(), "--routes",
                routes.toString()));
            agentArgs.addAll(agentOptions);
            try (ChildJvm agent = ChildJvm.start("agent", tmp.resolve("agent.log"), List.of("-Xmx256m"),
                     "io.sluice.agent.AgentMain", agentArgs);
                 ChildJvm dataPlane = ChildJvm.start("dataplane", tmp.resolve("dataplane.log"), List.of("-Xmx256m"),
                     "io.sluice.dataplane.DataPlaneMain", List.of("dataplane", "--config", config.toString(),
                         "--routes", routes.toString(), "--cpus", "0,1"));
                 LoopbackClient client = awaitClient(port)) {
                if (!dataPlane.awaitLog("sluice data plane ready", 60_000)) {
                    throw new IllegalStateException("data plane did not start:\n" + dataPlane.tail(30));
                }
                long[] route = new long[edits + WARMUP];
                long[] endpoint = new long[edits + WARMUP];
                SplittableRandom random = new SplittableRandom(7);
                await(client, "base.test", r -> r.status() == 200 && r.body().startsWith("origin=a "), 60_000);
                for (int i = 0; i < edits + WARMUP; i++) {
                    String host = "r" + (i + 1) + ".test";
                    long t0 = System.nanoTime();
                    ManifestFiles.write(manifests, "30-bench.yaml", benchIngress(i + 1));
                    await(client, host, r -> r.status() == 200, 10_000);
                    route[i] = System.nanoTime() - t0;
                    pause(random);

                    LoopbackOrigin next = i % 2 == 0 ? b : a;
                    t0 = System.nanoTime();
                    ManifestFiles.write(manifests, "10-app-endpoints.yaml", slice(NS, "app-1", "app", next.port(),
                        false));
                    await(client, "base.test", r -> r.status() == 200 && r.body().startsWith("origin=" + next.name()
                        + " "), 10_000);
                    endpoint[i] = System.nanoTime() - t0;
                    pause(random);
                }
                System.out.printf("route change (new host)  → traffic: %s%n", new Stats(route, WARMUP,
                    route.length).millis());
                System.out.printf("endpoint change          → traffic: %s%n", new Stats(endpoint, WARMUP,
                    endpoint.length).millis());
                System.out.printf("first %d of each (JIT warm-up), route: %s%n", WARMUP, ms(route, WARMUP));
                System.out.printf("first %d of each (JIT warm-up), endpoint: %s%n", WARMUP, ms(endpoint, WARMUP));
                System.out.printf("agent published %d generations%n",
                    agent.log().split("published generation", -1).length - 1);
            }
        } finally {
            Files.deleteIfExists(routes);
            try (var s = Files.walk(tmp)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String benchIngress(int n) {
        return ingress(NS, "bench", List.of(new IngressPath("r" + n + ".test", "/", "Prefix", "app")));
    }

    private static void pause(SplittableRandom random) {
        LockSupport.parkNanos(60_000_000L + random.nextLong(60_000_000L));
    }

    private static String ms(long[] nanos, int count) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            sb.append(String.format("%.1f ", nanos[i] / 1e6));
        }
        return sb.append("ms").toString();
    }

    private static LoopbackClient awaitClient(int port) throws InterruptedException {
        long until = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try {
                return new LoopbackClient(port, 5_000);
            } catch (IOException e) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("data plane not listening on " + port, e);
                }
                Thread.sleep(50);
            }
        }
    }

    /** Polls (one request, then ~0.25 ms) until an answer satisfies {@code ok}. */
    private static void await(LoopbackClient c, String host, Predicate<LoopbackClient.Response> ok, long timeoutMs)
            throws IOException {
        long until = System.nanoTime() + timeoutMs * 1_000_000L;
        LoopbackClient.Response r;
        while (!ok.test(r = c.get(host, "/"))) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException(host + " did not change within " + timeoutMs + " ms; last answer "
                    + r.status() + " " + r.body().trim());
            }
            LockSupport.parkNanos(250_000);
        }
    }
}
