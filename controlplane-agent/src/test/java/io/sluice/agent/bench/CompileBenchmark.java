package io.sluice.agent.bench;

import io.sluice.agent.ClusterState;
import io.sluice.agent.CompilerWarmup;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.RoutePlan;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileReader;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Measures the agent's compile and publish of a large cluster (not a unit test: run it by hand, see README):
 * <ul>
 *   <li>full compile (route phase + endpoint phase) of 10,000 Ingresses / 20,000+ paths, cold (first, as at agent
 *       start) and warm (every later route change);</li>
 *   <li>endpoint-only compile (endpoint phase over the kept plan) after 1% of the EndpointSlices changed;</li>
 *   <li>publish to the shared route file (encode + copy), full and endpoint-only, and the reader's poll + decode;</li>
 *   <li>heap: the live set with the whole cluster and the compiled table held, after a full GC; run it with
 *       {@code -Xmx256m} to show the whole thing fits the goal's heap.</li>
 * </ul>
 * Arguments: [ingresses (10000)] [warm iterations (30)] [{@code warmup}]. With {@code warmup}, the agent's
 * {@link CompilerWarmup} runs while the synthetic cluster is built (standing in for the agent loading its objects)
 * and is stopped just before the first compile, as the agent does; without, the first compile is fully cold. The
 * first compile is reported as wall time, the compiling thread's CPU time and the JIT's compile time meanwhile (on a
 * shared 2-core machine the wall time mostly shows who else wanted the CPUs).
 */
public final class CompileBenchmark {
    private CompileBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int ingresses = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        boolean warm = args.length > 2 && args[2].equals("warmup");
        System.out.printf("JVM %s, max heap %d MB, %d CPUs%n", Runtime.version(),
            Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors());

        long t0 = System.nanoTime();
        CompilerWarmup warmup = warm ? CompilerWarmup.start(IngressCompiler.Options.defaults()) : null;
        ClusterState state = SyntheticCluster.build(ingresses);
        System.out.printf("cluster: %d objects built and loaded in %.0f ms%n", state.size(), ms(System.nanoTime() - t0));

        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        String warmed = "";
        if (warmup != null) {
            long w0 = System.nanoTime();
            int rounds = warmup.stop();
            warmed = String.format(", after a warm-up of %d rounds (stopping it took %.1f ms)", rounds,
                ms(System.nanoTime() - w0));
        }
        IngressCompiler compiler = new IngressCompiler();
        long jit0 = jit.getTotalCompilationTime();
        long cpu0 = threads.getCurrentThreadCpuTime();
        long c0 = System.nanoTime();
        RoutePlan plan = compiler.compileRoutes(state);
        RouteTable table = compiler.resolveEndpoints(plan, state, 1);
        long cold = System.nanoTime() - c0;
        long coldCpu = threads.getCurrentThreadCpuTime() - cpu0;
        long coldJit = jit.getTotalCompilationTime() - jit0;
        System.out.printf("table: %d Ingresses, %d hosts, %d paths, %d backends, %d problems%n",
            plan.claimedIngresses().size(), table.hosts().size(), plan.pathCount(), table.backends().size(),
            plan.problems().size());
        System.out.printf("full compile, first in this JVM%s: %.1f ms (thread CPU %.1f ms; JIT meanwhile %d ms)%n",
            warmed, ms(cold), ms(coldCpu), coldJit);

        long[] full = new long[iterations];
        long[] routePhase = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long a = System.nanoTime();
            RoutePlan p = compiler.compileRoutes(state);
            long b = System.nanoTime();
            table = compiler.resolveEndpoints(p, state, i + 2);
            full[i] = System.nanoTime() - a;
            routePhase[i] = b - a;
            plan = p;
        }
        report("full compile, warm", full);
        report("  of which route phase", routePhase);

        long[] endpointOnly = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            SyntheticCluster.rollEndpoints(state, ingresses, i);
            long a = System.nanoTime();
            table = compiler.resolveEndpoints(plan, state, 1000 + i);
            endpointOnly[i] = System.nanoTime() - a;
        }
        report("endpoint-only compile (1% of slices changed)", endpointOnly);

        Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty(
            "java.io.tmpdir"));
        Path file = dir.resolve("sluice-bench-" + ProcessHandle.current().pid());
        try (RouteTableFileWriter writer = RouteTableFileWriter.open(file);
             RouteTableFileReader reader = RouteTableFileReader.open(file)) {
            long[] pubFull = new long[iterations];
            long[] readFull = new long[iterations];
            long[] pubEp = new long[iterations];
            long[] readEp = new long[iterations];
            long gen = 2000;
            for (int i = 0; i < iterations; i++) {
                RoutePlan p = compiler.compileRoutes(state); // a new host list: a full publication
                RouteTable t = compiler.resolveEndpoints(p, state, ++gen);
                long a = System.nanoTime();
                writer.publish(t);
                pubFull[i] = System.nanoTime() - a;
                a = System.nanoTime();
                RouteTable got = reader.poll();
                readFull[i] = System.nanoTime() - a;
                check(got, t);

                SyntheticCluster.rollEndpoints(state, ingresses, 100 + i);
                RouteTable e = compiler.resolveEndpoints(p, state, ++gen);
                a = System.nanoTime();
                writer.publish(e);
                pubEp[i] = System.nanoTime() - a;
                a = System.nanoTime();
                got = reader.poll();
                readEp[i] = System.nanoTime() - a;
                check(got, e);
                if (!writer.lastPublishReusedRoutes() || !reader.lastPollEndpointsOnly()) {
                    throw new AssertionError("endpoint-only publication not recognised");
                }
            }
            System.out.printf("route file image: %d bytes (%.1f bytes/path)%n", writer.lastImageLength(),
                writer.lastImageLength() / (double) Math.max(1, plan.pathCount()));
            report("publish full table (encode + copy into the file)", pubFull);
            report("reader poll + decode, full table", readFull);
            report("publish endpoint-only", pubEp);
            report("reader poll + decode, endpoint-only", readEp);
            long[] idle = new long[5];
            for (int i = 0; i < idle.length; i++) {
                long a = System.nanoTime();
                for (int k = 0; k < 1_000_000; k++) {
                    if (reader.poll() != null) {
                        throw new AssertionError();
                    }
                }
                idle[i] = (System.nanoTime() - a) / 1000; // ns per poll * 1000 → report as "µs per 1000 polls"
            }
            Arrays.sort(idle);
            System.out.printf("reader idle poll: %.1f ns per poll (median of 5 x 1M)%n", idle[2] / 1000.0);
        } finally {
            Files.deleteIfExists(file);
        }

        System.gc();
        Thread.sleep(200);
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long live = rt.totalMemory() - rt.freeMemory();
        System.out.printf("heap: live set after full GC, with the cluster objects, plan and table held: %d MB "
            + "(max heap %d MB)%n", live >> 20, rt.maxMemory() >> 20);
        if (table.hosts().isEmpty() || state.size() == 0) {
            throw new AssertionError();
        }
    }

    private static void check(RouteTable got, RouteTable want) {
        if (got == null || got.generation() != want.generation() || !got.backends().equals(want.backends())) {
            throw new AssertionError("reader did not get generation " + want.generation());
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void report(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf("%s: min %.2f ms, median %.2f ms, max %.2f ms (%d runs)%n", what, ms(s[0]),
            ms(s[s.length / 2]), ms(s[s.length - 1]), s.length);
    }
}
