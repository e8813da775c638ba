package io.sluice.dataplane.steering;

import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.steering.SteeringTestSupport.Exchange;
import io.sluice.dataplane.steering.SteeringTestSupport.RecordingOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static io.sluice.dataplane.steering.SteeringTestSupport.accepted;
import static io.sluice.dataplane.steering.SteeringTestSupport.await;
import static io.sluice.dataplane.steering.SteeringTestSupport.get;
import static io.sluice.dataplane.steering.SteeringTestSupport.onCpu;
import static io.sluice.dataplane.steering.SteeringTestSupport.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SO_ATTACH_REUSEPORT_CBPF for real, with two shards on CPUs 0 and 1. On loopback the CPU that receives a
 * connection's packets is the sending thread's, so a client pinned to CPU k must be served by the shard on CPU k.
 */
@Timeout(120)
class KernelSteeringTest {
    private static final int PER_CPU = 20;

    @AfterAll
    static void noLeaks() throws Exception {
        SteeringTestSupport.assertNoLeaks();
    }

    @Test
    void eachConnectionIsServedByTheShardOnItsReceivingCpu() throws Exception {
        assumeTrue(SteeringTestSupport.twoCpus(), "needs CPUs 0 and 1");
        assumeTrue(KernelSteering.probeCbpf() == null, "kernel refuses reuseport CBPF");
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), new int[] {0, 1}, SteeringMode.CBPF, "none")) {
            assertEquals(SteeringMode.CBPF, dp.steering().mode());
            List<Shard> shards = dp.shards();
            for (int k = 0; k < 2; k++) {
                long[] before = {accepted(shards.get(0)), accepted(shards.get(1))};
                List<String> statuses = onCpu(k, () -> {
                    List<String> out = new java.util.ArrayList<>();
                    for (int i = 0; i < PER_CPU; i++) {
                        Exchange e = get(port(dp));
                        out.add(e.statusLine());
                    }
                    return out;
                });
                for (String s : statuses) {
                    assertEquals("HTTP/1.1 200 OK", s);
                }
                int cpu = k;
                await(() -> accepted(shards.get(0)) + accepted(shards.get(1)) == before[0] + before[1] + PER_CPU,
                    "every connection counted");
                Shard on = shards.get(cpu);
                Shard other = shards.get(1 - cpu);
                assertEquals(cpu, on.cpu);
                assertEquals(PER_CPU, accepted(on) - before[cpu], "served by the shard on CPU " + cpu);
                assertEquals(0, accepted(other) - before[1 - cpu], "none served by the other shard");
            }
            long on = shards.get(0).steeringStats.acceptedOnReceivingCpu + shards.get(1).steeringStats.acceptedOnReceivingCpu;
            assertEquals(2 * PER_CPU, on);
            assertEquals(1.0, dp.localityShare());
        }
    }

    @Test
    void withoutSteeringEveryConnectionIsStillMeasured() throws Exception {
        assumeTrue(SteeringTestSupport.twoCpus(), "needs CPUs 0 and 1");
        try (RecordingOrigin origin = new RecordingOrigin();
             DataPlane dp = SteeringTestSupport.start(origin.port(), new int[] {0, 1}, SteeringMode.NONE, "none")) {
            assertEquals(SteeringMode.NONE, dp.steering().mode());
            onCpu(0, () -> {
                for (int i = 0; i < PER_CPU; i++) {
                    assertEquals("HTTP/1.1 200 OK", get(port(dp)).statusLine());
                }
                return null;
            });
            List<Shard> shards = dp.shards();
            await(() -> accepted(shards.get(0)) + accepted(shards.get(1)) == PER_CPU, "every connection counted");
            long unknown = shards.get(0).steeringStats.acceptedCpuUnknown + shards.get(1).steeringStats.acceptedCpuUnknown;
            assertEquals(0, unknown, "SO_INCOMING_CPU read on every connection");
            // Received on CPU 0: the kernel's hash puts some on shard 1, which are the off-CPU ones.
            assertEquals(shards.get(1).steeringStats.acceptedOffReceivingCpu, accepted(shards.get(1)));
            assertEquals(shards.get(0).steeringStats.acceptedOnReceivingCpu, accepted(shards.get(0)));
        }
    }
}
