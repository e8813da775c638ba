package io.sluice.dataplane.steering;

import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.steering.SteeringTestSupport.RecordingOrigin;
import io.sluice.nictuning.CoreMap;
import io.sluice.nictuning.rss.RssTable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.sluice.dataplane.steering.SteeringTestSupport.await;
import static io.sluice.dataplane.steering.SteeringTestSupport.get;
import static io.sluice.dataplane.steering.SteeringTestSupport.onCpu;
import static io.sluice.dataplane.steering.SteeringTestSupport.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * RSS-aware upstream connects through the whole proxy: every upstream connection a shard opens starts from a local
 * port whose reply flow (origin → proxy) the core map's Toeplitz hash and table put on that shard's own queue.
 */
@Timeout(120)
class RssConnectTest {
    private static final int PER_CPU = 16;
    private static final int LOOPBACK = 0x7f000001;

    @AfterAll
    static void noLeaks() throws Exception {
        SteeringTestSupport.assertNoLeaks();
    }

    @Test
    void upstreamPortsLandOnTheConnectingShardsQueue(@TempDir Path dir) throws Exception {
        assumeTrue(SteeringTestSupport.twoCpus(), "needs CPUs 0 and 1");
        assumeTrue(KernelSteering.probeCbpf() == null, "kernel refuses reuseport CBPF (used to know the shard)");
        CoreMap map = SteeringTestSupport.rssCoreMap();
        RssTable rss = map.rssTable();
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), null, SteeringMode.CBPF,
                 SteeringTestSupport.write(map, dir))) {
            assertTrue(dp.steering().rssConnects(), dp.steering().summary());
            assertEquals(2, dp.shards().size(), "CPUs from the core map");
            int[] range = SteeringPlan.localPortRange();
            for (int k = 0; k < 2; k++) {
                origin.clientPorts.clear();
                onCpu(k, () -> {
                    for (int i = 0; i < PER_CPU; i++) {
                        assertEquals("HTTP/1.1 200 OK", get(port(dp)).statusLine());
                    }
                    return null;
                });
                List<Integer> ports = new ArrayList<>(origin.clientPorts);
                assertEquals(PER_CPU, ports.size(), "one upstream connection per request (the origin closes)");
                int queue = map.shard(k).queue();
                for (int p : ports) {
                    assertEquals(queue, rss.queueForIpv4(LOOPBACK, LOOPBACK, origin.port(), p),
                        "reply flow of local port " + p + " lands on shard " + k + "'s queue");
                    assertTrue(p >= range[0] && p <= range[1], p + " in the local port range");
                }
                assertEquals(PER_CPU, ports.stream().distinct().count(), "successive connects spread over ports");
                Shard s = dp.shards().get(k);
                await(() -> s.steeringStats.rssConnects == PER_CPU, "shard " + k + " counted its RSS connects");
                assertEquals(0, s.steeringStats.rssFallbacks);
            }
        }
    }

    @Test
    void steeringNoneKeepsEphemeralPorts(@TempDir Path dir) throws Exception {
        CoreMap map = SteeringTestSupport.rssCoreMap();
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), new int[] {0}, SteeringMode.NONE,
                 SteeringTestSupport.write(map, dir))) {
            assertTrue(!dp.steering().rssConnects());
            assertEquals("HTTP/1.1 200 OK", get(port(dp)).statusLine());
            assertEquals(0, dp.shards().get(0).steeringStats.rssConnects);
        }
    }
}
