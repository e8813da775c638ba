package io.sluice.perf.jmh;

import io.sluice.dataplane.config.OpsConfig;
import io.sluice.dataplane.metrics.LatencyBuckets;
import io.sluice.dataplane.metrics.ShardMetrics;
import io.sluice.dataplane.ops.AccessLog;
import io.sluice.dataplane.ops.AccessLogRecord;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The per-request cost of operations on a shard: recording one exchange into {@link ShardMetrics} (a counter, two
 * histograms, two byte counters), the bucket computation alone, and publishing one access-log record into a shard's
 * ring (a writer thread drains it to /dev/null). Run with {@code -prof gc}: the goal is 0 B/op for all of them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED"})
public class MetricsRecordBench {
    private ShardMetrics metrics;
    private AccessLog log;
    private AccessLog.Ring ring;
    private AccessLogRecord scratch;
    private long nanos = 1;

    @Setup(Level.Trial)
    public void setUp() {
        metrics = new ShardMetrics();
        metrics.ensureSeries(1024);
        log = AccessLog.open(new OpsConfig.AccessLog("/dev/null", OpsConfig.LogFormat.JSON, 1.0), 1);
        ring = log.ring(0);
        scratch = new AccessLogRecord();
        byte[] m = "GET".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(m, 0, scratch.method, 0, m.length);
        scratch.methodLen = m.length;
        byte[] t = "/api/v1/items?id=42".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, scratch.target, 0, t.length);
        scratch.targetLen = t.length;
        byte[] h = "shop.example.com".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(h, 0, scratch.host, 0, h.length);
        scratch.hostLen = h.length;
        scratch.client = "10.1.2.3".getBytes(StandardCharsets.US_ASCII);
        scratch.version = 11;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        log.close();
    }

    @Benchmark
    public void recordExchange() {
        long n = nanos = nanos * 6364136223846793005L + 1442695040888963407L; // varied latencies, no allocation
        metrics.request((int) (n >>> 60) + 2, ShardMetrics.H1, 1, 200, (n >>> 40) & 0xffffff, (n >>> 44) & 0xfffff,
            120, 512);
    }

    @Benchmark
    public int bucketIndex() {
        long n = nanos = nanos * 6364136223846793005L + 1442695040888963407L;
        return LatencyBuckets.index(n >>> 30);
    }

    @Benchmark
    public void publishAccessLogRecord() {
        ring.publish(scratch, 0, 200, 120, 512, 150_000, 120_000, "10.0.0.5:8080", "web");
    }
}
