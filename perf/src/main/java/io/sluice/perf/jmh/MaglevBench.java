package io.sluice.perf.jmh;

import io.sluice.dataplane.l4.FlowHash;
import io.sluice.dataplane.l4.Maglev;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The L4 balancer's per-flow cost and its per-change cost: {@code lookup} is the flow hash of a 5-tuple plus the
 * Maglev table read a shard does for each new TCP connection or UDP flow (expected: a few ns, 0 B/op under
 * {@code -prof gc}); {@code build} is the table construction on the publishing thread when a service's endpoints
 * change (65537 slots).
 *
 * <pre>bin/sluice perf jmh MaglevBench -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MaglevBench {
    private static final int TUPLES = 1024;

    @Param({"10", "100"})
    public int backends;

    private Maglev table;
    private String[] names;
    private final int[] addr = new int[TUPLES];
    private final int[] port = new int[TUPLES];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        names = new String[backends];
        for (int i = 0; i < backends; i++) {
            names[i] = "10.0." + (i / 250) + "." + (i % 250 + 1) + ":5432";
        }
        table = Maglev.build(names, null, 65537);
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < TUPLES; i++) {
            addr[i] = r.nextInt();
            port[i] = r.nextInt(65536);
        }
    }

    @Benchmark
    public int lookup() {
        int i = next++ & (TUPLES - 1);
        return table.lookup(FlowHash.flow(addr[i], port[i], 5432, false));
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Maglev build() {
        return Maglev.build(names, null, 65537);
    }
}
