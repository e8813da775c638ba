package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** apply, verify and revert through the command line, on a writable copy of the ConnectX fixture. */
class FixtureApplyTest {
    private static final String NIC = "ens1f0np0";

    private static String read(Path p) throws Exception {
        return Files.readString(p).trim();
    }

    @Test
    void dryRunApplyVerifyReapplyDriftRevert(@TempDir Path tmp) throws Exception {
        Path fx = Fixtures.copy(Fixtures.MLX5, tmp.resolve("fx"));
        Map<String, String> pristine = Fixtures.snapshot(fx);
        String state = tmp.resolve("state.json").toString();
        String coremap = tmp.resolve("coremap.json").toString();
        Path root = fx.resolve("root");

        // Dry run: lists the changes, touches nothing.
        Fixtures.Cli dry = Fixtures.runOn(fx, "apply", "--nic", NIC, "--state", state, "--coremap", coremap);
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().contains("Dry run"), dry.out());
        assertTrue(dry.out().matches("(?s).*change\\s+channels combined\\s+32 -> 8.*"), dry.out());
        assertTrue(dry.out().matches("(?s).*ok\\s+sysctl net.core.somaxconn\\s+131072.*"), dry.out());
        assertEquals(pristine, Fixtures.snapshot(fx));
        assertFalse(Files.exists(Path.of(state)));
        assertFalse(Files.exists(Path.of(coremap)));

        // verify before apply: drift.
        Fixtures.Cli before = Fixtures.runOn(fx, "verify", "--nic", NIC, "--coremap", coremap);
        assertEquals(NicTuningMain.DRIFT, before.code(), before.toString());

        // Apply.
        Fixtures.Cli apply = Fixtures.runOn(fx, "apply", "--yes", "--nic", NIC, "--state", state, "--coremap", coremap);
        assertEquals(0, apply.code(), apply.toString());
        assertTrue(read(fx.resolve("ethtool/" + NIC + "/l.txt")).endsWith("Combined:\t8"));
        EthtoolParser.Rss rss = EthtoolParser.rss(Files.readString(fx.resolve("ethtool/" + NIC + "/x.txt")));
        assertTrue(EthtoolParser.isEqualSpread(rss.table(), 8));
        assertEquals("8", read(root.resolve("proc/irq/98/smp_affinity_list")));
        assertEquals("15", read(root.resolve("proc/irq/105/smp_affinity_list")));
        assertEquals("26", read(root.resolve("proc/irq/109/smp_affinity_list")), "queue 11 is not a shard's");
        assertEquals("65535", read(root.resolve("proc/sys/net/ipv4/tcp_max_syn_backlog")));
        assertEquals("131072", read(root.resolve("proc/sys/net/core/somaxconn")), "never lowered");
        assertEquals("10240 65535", read(root.resolve("proc/sys/net/ipv4/ip_local_port_range")));
        assertEquals(new EthtoolParser.Rings(8192, 8192, 4096, 4096),
                EthtoolParser.rings(Files.readString(fx.resolve("ethtool/" + NIC + "/g.txt"))));
        assertTrue(Files.readString(fx.resolve("ethtool/" + NIC + "/c.txt")).contains("Adaptive RX: on  TX: on"));

        StateFile recorded = StateFile.load(Path.of(state));
        StateFile.Entry irq98 = recorded.get("file:/proc/irq/98/smp_affinity_list");
        assertEquals("3", irq98.original());
        assertEquals("8", irq98.applied());
        assertEquals("default", recorded.get("ethtool:" + NIC + ":rss:indirection").original(),
                "the driver's default table is restored as default");
        assertEquals("32", recorded.get("ethtool:" + NIC + ":channels:combined").original());
        assertEquals(null, recorded.get("file:/proc/sys/net/core/somaxconn"), "unchanged settings are not recorded");

        CoreMap cm = CoreMap.read(Path.of(coremap));
        assertEquals(NIC, cm.nic());
        assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15), cm.shards().stream().map(CoreMap.Shard::cpu).toList());
        assertEquals(CoreMap.Steering.RSS, cm.steering());
        assertTrue(cm.hasRss());

        // verify: clean. Apply again: nothing to do, state untouched.
        Fixtures.Cli verify = Fixtures.runOn(fx, "verify", "--nic", NIC, "--coremap", coremap);
        assertEquals(0, verify.code(), verify.toString());
        String stateBytes = Files.readString(Path.of(state));
        Fixtures.Cli again = Fixtures.runOn(fx, "apply", "--yes", "--nic", NIC, "--state", state, "--coremap", coremap);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("0 changed"), again.out());
        assertEquals(stateBytes, Files.readString(Path.of(state)));

        // Drift: something moved an IRQ.
        Files.writeString(root.resolve("proc/irq/100/smp_affinity_list"), "0-31\n");
        Fixtures.Cli drift = Fixtures.runOn(fx, "verify", "--nic", NIC, "--coremap", coremap, "--json");
        assertEquals(NicTuningMain.DRIFT, drift.code(), drift.toString());
        Map<String, Object> report = Json.parseObject(drift.out());
        assertEquals(1L, report.get("drift"));
        List<Map<String, Object>> lines = Json.objectArray(report, "settings");
        Map<String, Object> irq100 = lines.stream()
                .filter(l -> l.get("key").equals("file:/proc/irq/100/smp_affinity_list")).findFirst().orElseThrow();
        assertEquals("drift", irq100.get("status"));
        assertEquals("0-31", irq100.get("current"));
        assertEquals("10", irq100.get("planned"));

        // Revert dry run changes nothing; revert restores every original and removes the core map.
        Map<String, String> applied = Fixtures.snapshot(fx);
        Fixtures.Cli revertDry = Fixtures.runOn(fx, "revert", "--state", state, "--coremap", coremap);
        assertEquals(0, revertDry.code(), revertDry.toString());
        assertEquals(applied, Fixtures.snapshot(fx));
        Fixtures.Cli revert = Fixtures.runOn(fx, "revert", "--yes", "--state", state, "--coremap", coremap);
        assertEquals(0, revert.code(), revert.toString());
        assertEquals(pristine, Fixtures.snapshot(fx), "every changed value is back (drifted IRQ 100 included)");
        assertFalse(Files.exists(Path.of(state)));
        assertFalse(Files.exists(Path.of(coremap)));
        Fixtures.Cli nothing = Fixtures.runOn(fx, "revert", "--yes", "--state", state, "--coremap", coremap);
        assertEquals(0, nothing.code());
        assertTrue(nothing.out().contains("Nothing to revert"));
    }

    @Test
    void unsupportedSettingsAreReportedAndSkipped(@TempDir Path tmp) throws Exception {
        Path fx = Fixtures.copy(Fixtures.MLX5, tmp.resolve("fx"));
        Files.writeString(fx.resolve("ethtool/" + NIC + "/set-G.err"), "netlink error: Operation not supported\n");
        // As in a network namespace other than the first, where net.core.rmem_max is mode 0444.
        Path rmem = fx.resolve("root/proc/sys/net/core/rmem_max");
        Files.setPosixFilePermissions(rmem, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
        String state = tmp.resolve("state.json").toString();
        Fixtures.Cli apply = Fixtures.runOn(fx, "apply", "--yes", "--nic", NIC, "--state", state, "--no-coremap");
        assertEquals(0, apply.code(), apply.toString());
        assertTrue(apply.out().matches("(?s).*unsupported\\s+sysctl net.core.rmem_max\\s+read-only here.*"),
                apply.out());
        assertEquals("212992", read(rmem));
        assertTrue(apply.out().matches("(?s).*unsupported\\s+ring rx\\s+ethtool -G ens1f0np0 rx 4096: netlink error:"
                + " Operation not supported.*"), apply.out());
        StateFile recorded = StateFile.load(Path.of(state));
        assertEquals(null, recorded.get("ethtool:" + NIC + ":rings:rx"), "nothing recorded for a refused change");
        assertEquals("8", read(fx.resolve("root/proc/irq/98/smp_affinity_list")), "the rest was applied");
    }

    @Test
    void permissionErrorStopsAndWhatWasDoneCanBeReverted(@TempDir Path tmp) throws Exception {
        Path fx = Fixtures.copy(Fixtures.MLX5, tmp.resolve("fx"));
        Map<String, String> pristine = Fixtures.snapshot(fx);
        Path err = fx.resolve("ethtool/" + NIC + "/set-L.err");
        Files.writeString(err, "netlink error: Operation not permitted\n");
        String state = tmp.resolve("state.json").toString();
        Fixtures.Cli apply = Fixtures.runOn(fx, "apply", "--yes", "--nic", NIC, "--state", state, "--no-coremap");
        assertEquals(NicTuningMain.PERMISSION, apply.code(), apply.toString());
        assertTrue(apply.err().contains("permission denied"), apply.err());
        assertTrue(apply.out().contains("CAP_NET_ADMIN"), apply.out());
        // The RSS table was changed before the channel count; nothing after it was touched.
        StateFile recorded = StateFile.load(Path.of(state));
        assertEquals(1, recorded.entries().size());
        assertEquals("3", read(fx.resolve("root/proc/irq/98/smp_affinity_list")));
        Files.delete(err);
        Fixtures.Cli revert = Fixtures.runOn(fx, "revert", "--yes", "--state", state, "--no-coremap");
        assertEquals(0, revert.code(), revert.toString());
        assertEquals(pristine, Fixtures.snapshot(fx));
    }

    @Test
    void growingChannelsComesBeforeTheTableThatUsesThem(@TempDir Path tmp) throws Exception {
        // igb on node 0: 8 cores, 4 of 8 channels configured. "equal 8" is only valid once 8 channels exist.
        Path fx = Fixtures.copy(Fixtures.MLX5, tmp.resolve("fx"));
        String state = tmp.resolve("state.json").toString();
        Fixtures.Cli refused = Fixtures.runOn(fx, "apply", "--nic", "eno1", "--state", state, "--no-coremap");
        assertEquals(NicTuningMain.ERROR, refused.code());
        assertTrue(refused.err().contains("unknown driver 'igb'"), refused.err());
        Fixtures.Cli apply = Fixtures.runOn(fx, "apply", "--yes", "--nic", "eno1", "--allow-unknown-driver",
                "--no-sysctls", "--state", state, "--no-coremap");
        assertTrue(read(fx.resolve("ethtool/eno1/l.txt")).endsWith("Combined:\t8"), apply.toString());
        EthtoolParser.Rss rss = EthtoolParser.rss(Files.readString(fx.resolve("ethtool/eno1/x.txt")));
        assertTrue(EthtoolParser.isEqualSpread(rss.table(), 8), apply.toString());
        assertEquals(8, rss.rings());
        // The fixture has no sysfs queue directories for the four new queues: reported, not fatal.
        assertTrue(apply.out().matches("(?s).*unsupported\\s+tx-4 xps_cpus\\s+not present.*"), apply.out());
        assertEquals(0, apply.code(), apply.toString());
    }

    @Test
    void planAndInspectOutput(@TempDir Path tmp) throws Exception {
        Path fx = Fixtures.dir(Fixtures.ICE);
        Path coremap = tmp.resolve("cm.json");
        Fixtures.Cli plan = Fixtures.runOn(fx, "plan", "--coremap", coremap.toString());
        assertEquals(0, plan.code(), plan.toString());
        assertTrue(plan.out().startsWith("Plan for ens785f0 (ice, NUMA node 0): 6 shard(s), steering rss"),
                plan.out());
        assertTrue(plan.out().contains("! irqbalance is running"), plan.out());
        assertTrue(plan.out().contains("Core map written to " + coremap));
        assertEquals(6, CoreMap.read(coremap).shardCount());

        Fixtures.Cli json = Fixtures.runOn(fx, "plan", "--json", "--no-coremap");
        assertEquals(0, json.code(), json.toString());
        Map<String, Object> p = Json.parseObject(json.out());
        assertEquals("ens785f0", p.get("nic"));
        List<Map<String, Object>> shards = Json.objectArray(p, "shards");
        assertEquals(6, shards.size());
        assertEquals(2L, shards.get(0).get("cpu"));
        assertEquals(List.of(121L), shards.get(0).get("irqs"));
        assertEquals(null, p.get("coremapPath"));
        CoreMap embedded = CoreMap.parse(Json.write(p.get("coremap")));
        assertEquals(CoreMap.read(coremap), embedded);

        Fixtures.Cli inspect = Fixtures.runOn(fx, "inspect", "--json");
        assertEquals(0, inspect.code(), inspect.toString());
        Map<String, Object> inv = Json.parseObject(inspect.out());
        assertEquals(true, inv.get("irqbalanceRunning"));
        Map<String, Object> nic = Json.objectArray(inv, "nics").get(0);
        assertEquals("ice", nic.get("driver"));
        assertEquals(32, Json.objectArray(nic, "queueIrqs").size());
        Fixtures.Cli human = Fixtures.runOn(fx, "inspect");
        assertTrue(human.out().contains("isolated: 2-7,18-23"), human.out());
        assertTrue(human.out().contains("irqbalance: running"), human.out());
    }

    @Test
    void usageErrors() {
        assertEquals(NicTuningMain.USAGE_ERROR, Fixtures.run().code());
        assertEquals(NicTuningMain.USAGE_ERROR, Fixtures.run("plan", "--frobnicate").code());
        assertEquals(NicTuningMain.USAGE_ERROR, Fixtures.run("plan", "--shards", "zero").code());
        assertEquals(NicTuningMain.USAGE_ERROR, Fixtures.run("dance").code());
        Fixtures.Cli help = Fixtures.run("--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("inspect | plan | apply | verify | revert") || help.out().contains("verbs:"));
    }
}
