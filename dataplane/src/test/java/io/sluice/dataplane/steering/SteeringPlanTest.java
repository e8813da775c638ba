package io.sluice.dataplane.steering;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.shard.CpuAffinity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config keys, and how the plan picks CPUs and mode from the core map and the kernel. */
class SteeringPlanTest {
    private static final String BASE = "listeners: [{port: 8080}]\n";

    @Test
    void configKeys() {
        DataPlaneConfig c = ConfigLoader.parse(BASE + "coreMap: /tmp/cm.json\nsteering: acceptor\n", 0);
        assertEquals("/tmp/cm.json", c.coreMap());
        assertEquals(SteeringMode.ACCEPTOR, c.steering());
        DataPlaneConfig d = ConfigLoader.parse(BASE, 0);
        assertNull(d.coreMap());
        assertEquals(SteeringMode.AUTO, d.steering());
        assertEquals(SteeringMode.NONE, ConfigLoader.parse(BASE + "steering: off\n", 0).steering());
        ConfigLoader.ConfigException e = assertThrows(ConfigLoader.ConfigException.class,
            () -> ConfigLoader.parse(BASE + "steering: magic\n", 0));
        assertTrue(e.getMessage().startsWith("steering: unknown steering mode 'magic'"), e.getMessage());
        // The overrides keep the other settings.
        DataPlaneConfig o = c.withIdle(io.sluice.dataplane.config.IdleMode.SPIN).withCpus(new int[] {0});
        assertEquals("/tmp/cm.json", o.coreMap());
        assertEquals(SteeringMode.ACCEPTOR, o.steering());
    }

    @Test
    void shardsTakeTheCoreMapsCpus(@TempDir Path dir) throws Exception {
        String file = SteeringTestSupport.write(SteeringTestSupport.rssCoreMap(), dir);
        SteeringPlan p = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0).withCoreMap(file)
            .withSteering(SteeringMode.NONE));
        assertArrayEquals(new int[] {0, 1}, p.cpus());
        assertNotNull(p.coreMap());
        assertTrue(p.summary().contains("core map " + file + " (lo, rss, 2 shards, rss)"), p.summary());
        assertTrue(!p.rssConnects(), "steering none: no RSS-aware ports");
        assertNull(p.portChooser(0, new SteeringStats()));

        SteeringPlan q = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0).withCoreMap(file)
            .withSteering(SteeringMode.ACCEPTOR).withCpus(new int[] {1}));
        assertArrayEquals(new int[] {1}, q.cpus(), "cpus: wins over the core map");
        assertTrue(q.summary().contains("override the core map's [0, 1]"), q.summary());
        assertNotNull(q.portChooser(0, new SteeringStats()), "shard on CPU 1 is core-map shard 1");
        assertTrue(!q.shardsListen());
    }

    @Test
    void withoutAUsableCoreMapShardsTakeEveryCpu(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"format\": \"something-else\"}");
        SteeringPlan p = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0).withCoreMap(bad.toString())
            .withSteering(SteeringMode.NONE));
        assertArrayEquals(CpuAffinity.processCpus(), p.cpus());
        assertNull(p.coreMap());
        assertTrue(p.summary().contains("core map " + bad + " not used"), p.summary());

        SteeringPlan missing = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0)
            .withCoreMap(dir.resolve("absent.json").toString()).withSteering(SteeringMode.NONE));
        assertArrayEquals(CpuAffinity.processCpus(), missing.cpus());
        assertTrue(missing.summary().contains("not used"), missing.summary());

        SteeringPlan none = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0).withCoreMap("none")
            .withSteering(SteeringMode.NONE));
        assertTrue(none.summary().contains("core map none"), none.summary());
    }

    @Test
    void autoPicksKernelSteeringWhereTheKernelTakesIt() {
        io.netty.channel.epoll.Epoll.ensureAvailability();
        SteeringPlan p = SteeringPlan.resolve(ConfigLoader.parse(BASE, 0).withCoreMap("none"));
        SteeringMode expected = KernelSteering.probeCbpf() == null ? SteeringMode.CBPF
            : p.cpus().length > 1 ? SteeringMode.ACCEPTOR : SteeringMode.NONE;
        assertEquals(expected, p.mode());
    }
}
