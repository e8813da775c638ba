package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/** A table update costs what changed: unchanged backends keep their compiled spec and each shard's view of them. */
class IncrementalInstallTest {
    private static RouteTable table(long gen, int bPort) {
        return new RouteTable(gen,
            List.of(new VirtualHost("a.test", List.of(new PathRule("/", PathType.PREFIX, 0, "t"))),
                new VirtualHost("b.test", List.of(new PathRule("/", PathType.PREFIX, 1, "t")))),
            List.of(new Backend("a", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", 1001),
                    new Endpoint("127.0.0.1", 1002))),
                new Backend("b", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", bPort)))),
            -1);
    }

    @Test
    void unchangedBackendsKeepSpecAndShardViewWithBalancerState() throws Exception {
        DataPlaneConfig c = ConfigLoader.parse("listeners: [{port: " + TestSupport.freePort() + "}]\n", 0)
            .withRoutes(table(1, 2001)).withCpus(new int[] {0});
        try (DataPlane dp = DataPlane.start(c)) {
            Shard s = dp.shards().get(0);
            ShardBackend[] before = s.loop.submit(() -> s.backends).get();
            ShardEndpoint firstPick = s.loop.submit(() -> before[0].pick()).get();

            CompiledTable old = dp.current();
            dp.update(table(2, 2002), true); // endpoint-only change of backend b
            CompiledTable now = dp.current();
            assertSame(old.backends[0], now.backends[0], "backend a unchanged: same spec");
            assertNotSame(old.backends[1], now.backends[1], "backend b changed: new spec");
            assertSame(old.router.explain("a.test", "/").rule, now.router.explain("a.test", "/").rule,
                "endpoint-only: the compiled rules are reused");

            TestSupport.awaitTrue(() -> s.installedGeneration() == 2, 2_000);
            ShardBackend[] after = s.loop.submit(() -> s.backends).get();
            assertSame(before[0], after[0], "the shard keeps its view of backend a");
            assertNotSame(before[1], after[1]);
            assertEquals(2002, after[1].endpoints[0].spec.address.getPort());
            ShardEndpoint next = s.loop.submit(() -> after[0].pick()).get();
            assertNotSame(firstPick, next, "round robin goes on where it was, not from the start");
        }
    }
}
