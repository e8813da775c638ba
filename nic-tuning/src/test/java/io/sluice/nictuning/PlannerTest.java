package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.nictuning.Setting.EthtoolSetting;
import io.sluice.nictuning.Setting.FileSetting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlannerTest {
    private static Planner.Options opts(String nic) {
        return new Planner.Options(nic, false, null, 0, false, true, 50);
    }

    private static Map<String, String> desired(Planner.Plan plan) {
        Map<String, String> m = new LinkedHashMap<>();
        for (Setting s : plan.settings()) {
            m.put(s.key(), s.desired());
        }
        return m;
    }

    private static List<Integer> cpus(Planner.Plan plan) {
        return plan.coreMap().shards().stream().map(CoreMap.Shard::cpu).toList();
    }

    @Test
    void connectXGetsOneShardPerPhysicalCoreOfItsNode() throws Exception {
        Planner.Plan plan = Planner.plan(Fixtures.inspect(Fixtures.MLX5), opts("ens1f0np0"));
        assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15), cpus(plan), "node 1, first thread of each core");
        for (CoreMap.Shard s : plan.coreMap().shards()) {
            assertEquals(s.shard(), s.queue());
        }
        assertEquals(CoreMap.Steering.RSS, plan.coreMap().steering());
        assertEquals(1, plan.numaNode());

        Map<String, String> d = desired(plan);
        assertEquals("8", d.get("ethtool:ens1f0np0:channels:combined"));
        assertEquals("equal 8", d.get("ethtool:ens1f0np0:rss:indirection"));
        // Shrinking from 32 queues: the RSS table moves first so the channel change is always accepted.
        List<String> keys = List.copyOf(d.keySet());
        assertTrue(keys.indexOf("ethtool:ens1f0np0:rss:indirection") < keys.indexOf(
                "ethtool:ens1f0np0:channels:combined"));
        for (int q = 0; q < 8; q++) {
            assertEquals(Integer.toString(8 + q), d.get("file:/proc/irq/" + (98 + q) + "/smp_affinity_list"));
            assertEquals(CpuList.formatMask(CpuList.of(8 + q)),
                    d.get("file:/sys/class/net/ens1f0np0/queues/tx-" + q + "/xps_cpus"));
        }
        assertFalse(d.containsKey("file:/proc/irq/106/smp_affinity_list"), "queues beyond the shards stay as they are");
        assertFalse(d.containsKey("file:/proc/irq/97/smp_affinity_list"), "the async IRQ is not a queue");
        assertFalse(keys.stream().anyMatch(k -> k.contains("rps_cpus")), "hardware RSS needs no RPS");
        assertEquals("4096", d.get("ethtool:ens1f0np0:rings:rx"));
        assertEquals("4096", d.get("ethtool:ens1f0np0:rings:tx"));
        assertEquals("on", d.get("ethtool:ens1f0np0:coalesce:adaptive-tx"));
        assertEquals("on", d.get("ethtool:ens1f0np0:feature:gro"));
        assertEquals("off", d.get("ethtool:ens1f0np0:feature:lro"));
        assertEquals("65535", d.get("file:/proc/sys/net/core/somaxconn"));
        assertEquals("10240 65535", d.get("file:/proc/sys/net/ipv4/ip_local_port_range"));
        assertEquals("50", d.get("file:/proc/sys/net/core/busy_poll"));
        assertTrue(plan.warnings().isEmpty(), plan.warnings().toString());

        CoreMap cm = plan.coreMap();
        assertTrue(cm.hasRss());
        assertArrayEquals(Fixtures.inspect(Fixtures.MLX5).nic("ens1f0np0").rss().key(), cm.rssKey());
        int[] table = cm.indirection();
        assertEquals(256, table.length);
        for (int i = 0; i < table.length; i++) {
            assertEquals(i % 8, table[i]);
        }
    }

    @Test
    void smtGivesSiblingsTheirOwnShards() throws Exception {
        Planner.Plan plan = Planner.plan(Fixtures.inspect(Fixtures.MLX5),
                new Planner.Options("ens1f0np0", true, null, 0, false, true, 50));
        assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31), cpus(plan));
        assertEquals("16", desired(plan).get("ethtool:ens1f0np0:channels:combined"));
        assertEquals("31", desired(plan).get("file:/proc/irq/113/smp_affinity_list"));
        assertTrue(plan.coreMap().smt());
    }

    @Test
    void explicitCpusAndShardLimit() throws Exception {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.MLX5);
        Planner.Plan given = Planner.plan(inv, new Planner.Options("ens1f0np0", false, CpuList.parseList("0-3,16-19"),
                0, false, true, 50));
        assertEquals(List.of(0, 1, 2, 3), cpus(given), "siblings 16-19 of cores 0-3 left out");
        Planner.Plan limited = Planner.plan(inv, new Planner.Options("ens1f0np0", false, null, 3, false, true, 50));
        assertEquals(List.of(8, 9, 10), cpus(limited));
        Planner.PlanException offline = assertThrows(Planner.PlanException.class, () -> Planner.plan(inv,
                new Planner.Options("ens1f0np0", false, CpuList.of(40), 0, false, true, 50)));
        assertTrue(offline.getMessage().contains("not online"));
    }

    @Test
    void severalNicsNeedANameAndUnknownDriversNeedConsent() throws Exception {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.MLX5);
        Planner.PlanException which = assertThrows(Planner.PlanException.class, () -> Planner.plan(inv, opts(null)));
        assertTrue(which.getMessage().contains("--nic"), which.getMessage());
        Planner.PlanException unknown = assertThrows(Planner.PlanException.class,
                () -> Planner.plan(inv, opts("eno1")));
        assertTrue(unknown.getMessage().contains("unknown driver 'igb'"), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("--allow-unknown-driver"));
        assertThrows(Planner.PlanException.class, () -> Planner.plan(inv, opts("eth9")));

        Planner.Plan generic = Planner.plan(inv, new Planner.Options("eno1", false, null, 0, true, true, 50));
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), cpus(generic), "node 0, capped by 8 channels");
        Map<String, String> d = desired(generic);
        assertFalse(d.keySet().stream().anyMatch(k -> k.contains(":rings:") || k.contains(":coalesce:")));
        // Growing from 4 to 8 channels: the channels come first, then the table can use them.
        List<String> keys = List.copyOf(d.keySet());
        assertTrue(keys.indexOf("ethtool:eno1:channels:combined") < keys.indexOf("ethtool:eno1:rss:indirection"));
        assertTrue(generic.warnings().stream().anyMatch(w -> w.contains("no profile")));
        assertFalse(d.containsKey("ethtool:eno1:feature:lro"), "a fixed feature is not planned");
    }

    @Test
    void e810UsesTheIsolatedCpusAndWarnsAboutIrqbalance() throws Exception {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.ICE);
        Planner.Plan plan = Planner.plan(inv, opts(null));
        assertEquals("ens785f0", plan.nic().name(), "the only NIC, chosen without --nic");
        assertEquals(List.of(2, 3, 4, 5, 6, 7), cpus(plan));
        Map<String, String> d = desired(plan);
        assertEquals("6", d.get("ethtool:ens785f0:channels:combined"));
        assertEquals("2", d.get("file:/proc/irq/121/smp_affinity_list"));
        assertEquals("7", d.get("file:/proc/irq/126/smp_affinity_list"));
        assertEquals("4096", d.get("ethtool:ens785f0:rings:rx"));
        assertTrue(plan.warnings().stream().anyMatch(w -> w.startsWith("irqbalance is running")),
                plan.warnings().toString());
        assertEquals(2048, plan.coreMap().indirection().length);
        assertEquals(52, plan.coreMap().rssKey().length);

        Planner.Plan smt = Planner.plan(inv, new Planner.Options(null, true, null, 0, false, true, 50));
        assertEquals(List.of(2, 3, 4, 5, 6, 7, 18, 19, 20, 21, 22, 23), cpus(smt));
    }

    @Test
    void x710WithUnknownNumaNodeUsesTheOnlyNode() throws Exception {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.I40E);
        Planner.Plan plan = Planner.plan(inv, opts(null));
        assertEquals("eno1", plan.nic().name(), "docker0 and the veth have no device");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), cpus(plan));
        assertEquals(0, plan.numaNode());
        assertTrue(plan.warnings().isEmpty(), plan.warnings().toString());
        Map<String, String> d = desired(plan);
        assertEquals("on", d.get("ethtool:eno1:coalesce:adaptive-tx"));
        assertEquals("on", d.get("ethtool:eno1:feature:gro"));
        assertEquals("equal 8", d.get("ethtool:eno1:rss:indirection"));
        assertEquals(-1, plan.coreMap().numaNode());
    }

    @Test
    void sysctlOptions() throws Exception {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.I40E);
        Planner.Plan none = Planner.plan(inv, new Planner.Options(null, false, null, 0, false, false, 50));
        assertFalse(desired(none).keySet().stream().anyMatch(k -> k.startsWith("file:/proc/sys/")));
        Planner.Plan noBusy = Planner.plan(inv, new Planner.Options(null, false, null, 0, false, true, 0));
        assertFalse(desired(noBusy).keySet().stream().anyMatch(k -> k.contains("busy_")));
        Planner.Plan busy = Planner.plan(inv, new Planner.Options(null, false, null, 0, false, true, 100));
        assertEquals("100", desired(busy).get("file:/proc/sys/net/core/busy_read"));
    }

    @Test
    void atLeastSysctlsKeepLargerValues() {
        FileSetting somaxconn = new FileSetting("/proc/sys/net/core/somaxconn", FileSetting.Format.AT_LEAST, "65535",
                "", "");
        assertTrue(somaxconn.satisfied("131072"));
        assertTrue(somaxconn.satisfied("65535"));
        assertFalse(somaxconn.satisfied("4096"));
        FileSetting rmem = new FileSetting("/proc/sys/net/ipv4/tcp_rmem", FileSetting.Format.AT_LEAST_EACH,
                "4096 131072 16777216", "", "");
        assertTrue(rmem.satisfied("4096 131072 33554432"));
        assertFalse(rmem.satisfied("4096 87380 33554432"));
        assertEquals("4096 131072 33554432", rmem.target("4096 87380 33554432"), "the larger max is kept");
        assertEquals("4096 131072 16777216", rmem.target("4096 87380 6291456"));
        FileSetting xps = new FileSetting("/x", FileSetting.Format.CPUMASK, "100", "", "");
        assertTrue(xps.satisfied("00000000,00000100"));
        FileSetting irq = new FileSetting("/y", FileSetting.Format.CPULIST, "8", "", "");
        assertTrue(irq.satisfied("8"));
        assertFalse(irq.satisfied("8-9"));
        EthtoolSetting e = new EthtoolSetting("eth0", EthtoolSetting.Group.RSS, "indirection", "equal 8", "", "");
        assertTrue(e.satisfied("equal  8"));
    }
}
