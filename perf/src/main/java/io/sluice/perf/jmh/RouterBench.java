package io.sluice.perf.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.dataplane.route.Route;
import io.sluice.dataplane.route.Router;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Route matching on request bytes, as a shard does per request, in a table of {@code hosts} virtual hosts with 10
 * path rules each (Exact and Prefix mixed). Run with {@code -prof gc}: the goal is 0 B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.buffer.checkAccessible=false"}) // as bin/sluice runs the data plane
public class RouterBench {
    @Param({"10", "10000"})
    public int hosts;

    private Router router;
    private ByteBuf exactHost;
    private ByteBuf wildcardHost;

    @Setup(Level.Trial)
    public void setUp() {
        List<VirtualHost> vh = new ArrayList<>();
        for (int h = 0; h < hosts; h++) {
            List<PathRule> rules = new ArrayList<>();
            for (int p = 0; p < 10; p++) {
                rules.add(new PathRule("/svc" + p + "/v" + (p % 3), p % 4 == 0 ? PathType.EXACT : PathType.PREFIX,
                    p % 2, "bench"));
            }
            rules.add(new PathRule("/", PathType.PREFIX, 0, "bench"));
            vh.add(new VirtualHost("host" + h + ".example.com", rules));
        }
        vh.add(new VirtualHost("*.apps.example.com", List.of(new PathRule("/", PathType.PREFIX, 1, "bench"))));
        router = Router.compile(new RouteTable(1, vh,
            List.of(new Backend("a", Balancer.ROUND_ROBIN, List.of()), new Backend("b", Balancer.ROUND_ROBIN, List.of())),
            -1));
        // host bytes followed by path bytes, as offsets in one buffer, like a parsed head
        exactHost = direct("Host" + (hosts / 2) + ".Example.com" + "/svc7/v1/items/42");
        wildcardHost = direct("team-a.apps.example.com" + "/anything/here");
    }

    private static ByteBuf direct(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return PooledByteBufAllocator.DEFAULT.directBuffer(b.length).writeBytes(b);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        exactHost.release();
        wildcardHost.release();
    }

    @Benchmark
    public Route exactHostPrefixPath() {
        int hostEnd = exactHost.indexOf(0, exactHost.writerIndex(), (byte) '/');
        return router.match(exactHost, 0, hostEnd, hostEnd, exactHost.writerIndex());
    }

    @Benchmark
    public Route wildcardHost() {
        int hostEnd = wildcardHost.indexOf(0, wildcardHost.writerIndex(), (byte) '/');
        return router.match(wildcardHost, 0, hostEnd, hostEnd, wildcardHost.writerIndex());
    }
}
