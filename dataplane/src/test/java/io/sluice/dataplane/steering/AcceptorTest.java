package io.sluice.dataplane.steering;

import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.steering.SteeringTestSupport.Exchange;
import io.sluice.dataplane.steering.SteeringTestSupport.RecordingOrigin;
import io.sluice.nictuning.CoreMap;
import io.sluice.nictuning.rss.RssTable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.sluice.dataplane.steering.SteeringTestSupport.accepted;
import static io.sluice.dataplane.steering.SteeringTestSupport.await;
import static io.sluice.dataplane.steering.SteeringTestSupport.get;
import static io.sluice.dataplane.steering.SteeringTestSupport.onCpu;
import static io.sluice.dataplane.steering.SteeringTestSupport.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Acceptor mode: one listener, each connection handed over a Disruptor ring to the shard its RSS hash names. */
@Timeout(120)
class AcceptorTest {
    private static final int CONNECTIONS = 24;
    private static final int LOOPBACK = 0x7f000001;

    @AfterAll
    static void noLeaks() throws Exception {
        SteeringTestSupport.assertNoLeaks();
    }

    @Test
    void eachConnectionGoesToTheShardItsHashNames(@TempDir Path dir) throws Exception {
        CoreMap map = SteeringTestSupport.rssCoreMap();
        RssTable rss = map.rssTable();
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), new int[] {0, 1}, SteeringMode.ACCEPTOR,
                 SteeringTestSupport.write(map, dir))) {
            assertEquals(SteeringMode.ACCEPTOR, dp.steering().mode());
            assertTrue(dp.shards().get(0).listeners().isEmpty(), "shards do not listen in acceptor mode");
            List<Shard> shards = dp.shards();
            int proxyPort = port(dp);
            int[] perShard = new int[2];
            for (int i = 0; i < CONNECTIONS; i++) {
                long before0 = accepted(shards.get(0));
                long before1 = accepted(shards.get(1));
                Exchange e = get(proxyPort);
                assertEquals("HTTP/1.1 200 OK", e.statusLine());
                // As the NIC would hash the client's packets: source = client, destination = the listener.
                int expected = map.shardOfQueue(rss.queueForIpv4(LOOPBACK, LOOPBACK, e.clientPort(), proxyPort));
                await(() -> accepted(shards.get(0)) + accepted(shards.get(1)) == before0 + before1 + 1, "counted");
                int got = accepted(shards.get(0)) > before0 ? 0 : 1;
                assertEquals(expected, got, "client port " + e.clientPort());
                perShard[got]++;
            }
            Acceptor a = dp.steering().acceptor();
            await(() -> a.byRss == CONNECTIONS, "all placed by the hash: " + a);
            assertEquals(0, a.dropped);
            for (int s = 0; s < 2; s++) {
                assertEquals(perShard[s], shards.get(s).steeringStats.handedOff);
            }
        }
    }

    @Test
    void withoutRssTheReceivingCpuDecides() throws Exception {
        assumeTrue(SteeringTestSupport.twoCpus(), "needs CPUs 0 and 1");
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), new int[] {0, 1}, SteeringMode.ACCEPTOR, "none")) {
            List<Shard> shards = dp.shards();
            for (int k = 0; k < 2; k++) {
                long before = accepted(shards.get(k));
                long beforeOther = accepted(shards.get(1 - k));
                onCpu(k, () -> {
                    for (int i = 0; i < 10; i++) {
                        assertEquals("HTTP/1.1 200 OK", get(port(dp)).statusLine());
                    }
                    return null;
                });
                int cpu = k;
                await(() -> accepted(shards.get(cpu)) - before == 10, "served by the shard on CPU " + cpu);
                assertEquals(beforeOther, accepted(shards.get(1 - k)));
            }
            assertEquals(1.0, dp.localityShare());
            Acceptor a = dp.steering().acceptor();
            await(() -> a.byCpu == 20, "all placed by their receiving CPU: " + a);
        }
    }
}
