package io.sluice.agent.bench;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.control.RouteTableFollower;
import io.sluice.dataplane.proxy.CompiledTable;
import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * Publish → every shard serving the new generation (issue 3 goal: p99 ≤ 1 ms). Not a unit test: a main, run by hand
 * (command in BENCHMARKS.md and {@code controlplane-agent/bench.sh}).
 *
 * <p>One JVM, the real pieces: the agent's {@link RouteTableFileWriter} on a file in /dev/shm, the data plane's
 * {@link RouteTableFollower} (its own thread, polling every 200 µs) and a started {@link DataPlane} with two shards
 * ({@code cpus: 0,1}, {@code idle: block}: the shards sleep in epoll_wait between commands, as on a quiet node).
 * Each sample: {@code writer.publish(table)} on this thread, which then sleeps in 100 µs steps until every
 * {@link Shard#installedGeneration()} equals the table's generation. The latency is not this thread's wake-up (that
 * would measure its own sleep, or, if it spun, steal one of the two CPUs from a shard) but is put together from
 * timestamps the data plane takes anyway: from just before {@code publish} to the end of the follower's compile
 * ({@link CompiledTable#compiledNanos}), plus the slowest shard's command ring → installed time
 * ({@link Shard#lastSwapNanos()}; the ring publication follows the compile within a microsecond). It includes encoding
 * and copying the image, the follower's poll period (publications are spaced by a random 1–2 ms, so they fall anywhere
 * in the follower's 200 µs sleep), decoding, compiling the router (or reusing it for endpoint-only changes), the
 * command ring, the shard's wake-up from epoll_wait and its install.
 *
 * <p>Arguments: {@code [publications per kind (2000)] [hosts (10; 1000 = a mid-size cluster)]}. Two kinds, measured
 * separately: endpoint-only changes (the writer copies ROUTES, the data plane reuses its router) and route changes
 * (a path added or removed on one host: full decode and router compile).
 */
public final class PublishLatencyBenchmark {
    private static final int WARMUP = 300;

    private PublishLatencyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int hostCount = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        System.out.printf("JVM %s, %d CPUs; %d publications per kind, %d hosts%n", Runtime.version(),
            Runtime.getRuntime().availableProcessors(), n, hostCount);
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(
            System.getProperty("java.io.tmpdir"));
        Path file = dir.resolve("sluice-publish-bench-" + ProcessHandle.current().pid());
        DataPlane dp = DataPlane.start(ConfigLoader.parse("""
            listeners: [{address: 127.0.0.1, port: %d}]
            cpus: 0,1
            idle: block
            """.formatted(port), 0));
        try (RouteTableFileWriter writer = RouteTableFileWriter.open(file);
             RouteTableFollower follower = RouteTableFollower.start(dp, file)) {
            List<Shard> shards = dp.shards();
            System.out.printf("data plane: %d shards, pinned to CPUs %s%n", shards.size(), pinned(shards));
            Tables tables = new Tables(hostCount);
            SplittableRandom random = new SplittableRandom(42);
            for (boolean endpointsOnly : new boolean[] {true, false}) {
                long[] total = new long[n];
                long[] publish = new long[n];
                long[] compiled = new long[n];
                long[] swap = new long[n * shards.size()];
                for (int i = -WARMUP; i < n; i++) {
                    long gen = writer.lastPublishedGeneration() + 1;
                    RouteTable t = endpointsOnly ? tables.endpointChange(gen) : tables.routeChange(gen);
                    LockSupport.parkNanos(1_000_000 + random.nextInt(1_000_000));
                    long t0 = System.nanoTime();
                    writer.publish(t);
                    long t1 = System.nanoTime();
                    while (!allInstalled(shards, gen)) {
                        LockSupport.parkNanos(100_000);
                    }
                    CompiledTable ct = dp.current();
                    if (ct.generation() != gen) {
                        throw new AssertionError("data plane at " + ct.generation() + ", expected " + gen);
                    }
                    if (i > -WARMUP && endpointsOnly != writer.lastPublishReusedRoutes()) {
                        throw new AssertionError("publication " + gen + " was not of the intended kind");
                    }
                    if (i >= 0) {
                        long slowest = 0;
                        for (int s = 0; s < shards.size(); s++) {
                            long swapNanos = shards.get(s).lastSwapNanos();
                            swap[i * shards.size() + s] = swapNanos;
                            slowest = Math.max(slowest, swapNanos);
                        }
                        publish[i] = t1 - t0;
                        compiled[i] = ct.compiledNanos - t0;
                        total[i] = ct.compiledNanos - t0 + slowest;
                    }
                }
                String kind = endpointsOnly ? "endpoint-only" : "route change";
                System.out.printf("%-13s publish → all shards: %s%n", kind, new Stats(total).micros());
                System.out.printf("%-13s   writer.publish():   %s%n", "", new Stats(publish).micros());
                System.out.printf("%-13s   → compiled in DP:   %s%n", "", new Stats(compiled).micros());
                System.out.printf("%-13s   ring → installed:   %s (per shard)%n", "", new Stats(swap).micros());
            }
            System.out.printf("follower: %d tables applied, %d rejected; route image %d bytes%n", follower.applied(),
                follower.rejected(), writer.lastImageLength());
        } finally {
            dp.close();
            Files.deleteIfExists(file);
        }
    }

    private static boolean allInstalled(List<Shard> shards, long gen) {
        for (int i = 0; i < shards.size(); i++) {
            if (shards.get(i).installedGeneration() != gen) {
                return false;
            }
        }
        return true;
    }

    private static List<Integer> pinned(List<Shard> shards) {
        List<Integer> l = new ArrayList<>();
        for (Shard s : shards) {
            l.add(s.pinnedCpu());
        }
        return l;
    }

    /**
     * Tables like the agent's: {@code hosts} hosts with two paths each over {@code hosts / 2 + 1} backends of three
     * endpoints. An endpoint change keeps the very host list (as the agent's endpoint phase does) and moves one
     * backend's endpoints; a route change toggles an extra path on one host (a new host list).
     */
    static final class Tables {
        private final int hostCount;
        private List<VirtualHost> hosts;
        private final List<Backend> backends = new ArrayList<>();
        private int round;

        Tables(int hostCount) {
            this.hostCount = hostCount;
            for (int b = 0; b < hostCount / 2 + 1; b++) {
                backends.add(new Backend("bench/app-" + b + ":80", Balancer.ROUND_ROBIN, endpoints(b, 0)));
            }
            hosts = hosts(-1);
        }

        private static List<Endpoint> endpoints(int b, int round) {
            List<Endpoint> eps = new ArrayList<>(3);
            for (int k = 0; k < 3; k++) {
                eps.add(new Endpoint("10." + (b >> 8 & 255) + "." + (b & 255) + "." + ((round * 3 + k) % 250 + 1),
                    8080));
            }
            return eps;
        }

        private List<VirtualHost> hosts(int extraOn) {
            List<VirtualHost> hs = new ArrayList<>(hostCount);
            for (int h = 0; h < hostCount; h++) {
                List<PathRule> rules = new ArrayList<>(3);
                if (h == extraOn) {
                    rules.add(new PathRule("/api/v2/extra", PathType.PREFIX, h / 2, "ingress bench/extra"));
                }
                rules.add(new PathRule("/api/v" + (h % 7), PathType.PREFIX, h / 2, "ingress bench/h" + h));
                rules.add(new PathRule("/", PathType.PREFIX, (h + 1) / 2, "ingress bench/h" + h));
                hs.add(new VirtualHost(String.format("h%05d.bench.example", h), rules));
            }
            return List.copyOf(hs);
        }

        RouteTable endpointChange(long gen) {
            round++;
            int b = round % backends.size();
            backends.set(b, new Backend(backends.get(b).name(), Balancer.ROUND_ROBIN, endpoints(b, round)));
            return new RouteTable(gen, hosts, List.copyOf(backends), -1);
        }

        RouteTable routeChange(long gen) {
            round++;
            hosts = hosts(round % 2 == 0 ? -1 : round % hostCount);
            return new RouteTable(gen, hosts, List.copyOf(backends), -1);
        }
    }
}
