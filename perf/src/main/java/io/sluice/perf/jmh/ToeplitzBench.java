package io.sluice.perf.jmh;

import io.sluice.nictuning.rss.RssSourcePortSolver;
import io.sluice.nictuning.rss.RssTable;
import io.sluice.nictuning.rss.ToeplitzHash;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the RSS computations the data plane makes per connection: the Toeplitz hash of an IPv4 and an IPv6 TCP
 * 4-tuple (goal for IPv4+TCP: at most 20 ns), the queue lookup an acceptor does when the kernel cannot steer, and the
 * first candidate of the RSS-aware source-port solver for an upstream connect.
 *
 * <p>Tuples cycle through 1024 random ones so that neither the JIT nor the branch predictor sees a constant input;
 * the index costs one increment and mask. Run with {@code -prof gc} to confirm that nothing allocates.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ToeplitzBench {
    private static final int TUPLES = 1024;

    private ToeplitzHash hash;
    private RssTable table;
    private RssSourcePortSolver solver;
    private final int[] src = new int[TUPLES];
    private final int[] dst = new int[TUPLES];
    private final int[] srcPort = new int[TUPLES];
    private final int[] dstPort = new int[TUPLES];
    private final long[] src6 = new long[TUPLES * 2];
    private final long[] dst6 = new long[TUPLES * 2];
    private int next;

    @Setup
    public void setUp() {
        hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = new int[256];
        for (int i = 0; i < indirection.length; i++) {
            indirection[i] = i % 8;
        }
        table = new RssTable(hash, indirection);
        solver = new RssSourcePortSolver(hash, indirection, 3);
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < TUPLES; i++) {
            src[i] = rnd.nextInt();
            dst[i] = rnd.nextInt();
            srcPort[i] = rnd.nextInt(65536);
            dstPort[i] = rnd.nextInt(65536);
            src6[2 * i] = rnd.nextLong();
            src6[2 * i + 1] = rnd.nextLong();
            dst6[2 * i] = rnd.nextLong();
            dst6[2 * i + 1] = rnd.nextLong();
        }
    }

    private int nextIndex() {
        return next++ & (TUPLES - 1);
    }

    /** Toeplitz hash of an IPv4 TCP 4-tuple: 12 table lookups. */
    @Benchmark
    public int ipv4Tcp() {
        int i = nextIndex();
        return hash.hashIpv4(src[i], dst[i], srcPort[i], dstPort[i]);
    }

    /** Toeplitz hash of an IPv6 TCP 4-tuple: 36 table lookups. */
    @Benchmark
    public int ipv6Tcp() {
        int i = nextIndex();
        return hash.hashIpv6(src6[2 * i], src6[2 * i + 1], dst6[2 * i], dst6[2 * i + 1], srcPort[i], dstPort[i]);
    }

    /** Hash plus indirection-table lookup: the queue (and so the shard) a new IPv4 connection arrived on. */
    @Benchmark
    public int ipv4TcpQueue() {
        int i = nextIndex();
        return table.queueForIpv4(src[i], dst[i], srcPort[i], dstPort[i]);
    }

    /** An upstream connect's first candidate local port whose replies land on the shard's queue (1 of 8). */
    @Benchmark
    public int sourcePortFirstCandidate() {
        int i = nextIndex();
        solver.startIpv4(dst[i], src[i], dstPort[i], 10240, 65535);
        return solver.nextPort();
    }
}
