package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * apply, verify and revert for real, on a veth pair with 4 receive and 4 transmit queues inside a network namespace
 * made for the test. nic-tuning runs in a child JVM under {@code ip netns exec}, which gives it the namespace's
 * sysfs and sysctls; the test checks the results with {@code ip netns exec} reads of its own. Nothing outside the
 * namespace is touched: veth has no IRQs, its queue masks belong to the namespace's devices, and the sysctls that
 * are not per-namespace are absent inside it (and reported as unsupported). Skipped only when this host does not
 * permit creating a network namespace.
 */
class NetnsVethApplyTest {
    private static final String NS = "sluice-nictuning-" + ProcessHandle.current().pid();
    private static boolean created;

    record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    private static Run exec(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            // Outputs are small; read stdout then stderr.
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("timed out: " + command);
            }
            return new Run(p.exitValue(), out, err);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e.getMessage()
                    + " (this test needs iproute2's ip and ethtool)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Run cmd(String... command) {
        return exec(List.of(command));
    }

    private static Run inNs(String... command) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NS));
        all.addAll(List.of(command));
        return exec(all);
    }

    private static String ok(Run r, String what) {
        assertEquals(0, r.code(), what + ": " + r);
        return r.out().trim();
    }

    @BeforeAll
    static void createNamespaceWithMultiQueueVeth() {
        Run add = cmd("ip", "netns", "add", NS);
        if (add.code() != 0) {
            String why = add.err().toLowerCase(Locale.ROOT);
            boolean notPermitted = why.contains("not permitted") || why.contains("permission denied")
                    || why.contains("read-only file system");
            if (notPermitted) {
                String reason = "network namespaces cannot be created here (" + add.err().trim() + ")";
                System.out.println("NetnsVethApplyTest skipped: " + reason);
                assumeTrue(false, reason);
            }
            fail("ip netns add " + NS + " failed: " + add);
        }
        created = true;
        ok(cmd("ip", "-n", NS, "link", "add", "va", "numrxqueues", "4", "numtxqueues", "4", "type", "veth",
                "peer", "name", "vb", "numrxqueues", "4", "numtxqueues", "4"), "creating the veth pair");
        ok(cmd("ip", "-n", NS, "link", "set", "va", "up"), "va up");
        ok(cmd("ip", "-n", NS, "link", "set", "vb", "up"), "vb up");
    }

    @AfterAll
    static void deleteNamespace() {
        if (created) {
            Run del = cmd("ip", "netns", "del", NS);
            assertEquals(0, del.code(), "deleting " + NS + ": " + del);
            assertFalse(cmd("ip", "netns", "list").out().contains(NS), NS + " still listed");
        }
    }

    /** Runs nic-tuning inside the namespace, in a child JVM on this module's classes. */
    private static Run nicTuning(String... args) throws Exception {
        Path classes = Path.of(NicTuningMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", NS,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classes.toString(),
                "io.sluice.nictuning.NicTuningMain"));
        command.addAll(List.of(args));
        return exec(command);
    }

    private static EthtoolParser.Channels channels() {
        return EthtoolParser.channels(ok(inNs("ethtool", "-l", "va"), "ethtool -l va"));
    }

    private static boolean groOn() {
        return EthtoolParser.features(ok(inNs("ethtool", "-k", "va"), "ethtool -k va"))
                .get("generic-receive-offload").on();
    }

    private static String nsRead(String path) {
        return ok(inNs("cat", path), "cat " + path).replaceAll("\\s+", " ");
    }

    private static BitSet mask(String queue, String file) {
        return CpuList.parseMask(nsRead("/sys/class/net/va/queues/" + queue + "/" + file));
    }

    @Test
    void applyVerifyRevertOnMultiQueueVeth(@TempDir Path tmp) throws Exception {
        String state = tmp.resolve("state.json").toString();
        String coremap = tmp.resolve("coremap.json").toString();
        String hostSomaxconn = Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).get(0).trim();

        EthtoolParser.Channels originalChannels = channels();
        assertEquals(4, originalChannels.rx());
        assertEquals(4, originalChannels.tx());
        boolean originalGro = groOn();
        String originalSomaxconn = nsRead("/proc/sys/net/core/somaxconn");
        String originalPorts = nsRead("/proc/sys/net/ipv4/ip_local_port_range");
        String originalRmem = nsRead("/proc/sys/net/ipv4/tcp_rmem");

        // plan: one shard per physical core, at most the 4 queues; steering by RPS (veth has no IRQs).
        Run plan = nicTuning("plan", "--nic", "va", "--json", "--coremap", coremap);
        assertEquals(0, plan.code(), plan.toString());
        Map<String, Object> p = Json.parseObject(plan.out());
        assertEquals("veth", p.get("driver"));
        assertEquals("rps", p.get("steering"));
        List<Map<String, Object>> shards = Json.objectArray(p, "shards");
        int n = shards.size();
        assertTrue(n >= 1 && n <= 4, "shards: " + n);
        int[] cpus = new int[n];
        BitSet seen = new BitSet();
        for (int i = 0; i < n; i++) {
            assertEquals((long) i, shards.get(i).get("queue"));
            cpus[i] = (int) (long) (Long) shards.get(i).get("cpu");
            assertFalse(seen.get(cpus[i]), "CPU used twice");
            seen.set(cpus[i]);
        }
        Files.delete(Path.of(coremap));

        // Dry run: nothing changes.
        Run dry = nicTuning("apply", "--nic", "va", "--state", state, "--coremap", coremap);
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().contains("Dry run"), dry.out());
        assertEquals(originalChannels, channels());
        assertTrue(mask("rx-0", "rps_cpus").isEmpty());
        assertFalse(Files.exists(Path.of(state)));
        assertFalse(Files.exists(Path.of(coremap)));

        // Apply.
        Run apply = nicTuning("apply", "--yes", "--nic", "va", "--state", state, "--coremap", coremap);
        assertEquals(0, apply.code(), apply.toString());
        EthtoolParser.Channels tuned = channels();
        assertEquals(n, tuned.rx(), apply.out());
        assertEquals(n, tuned.tx(), apply.out());
        for (int i = 0; i < n; i++) {
            // RPS on veth: every queue spreads over all shard CPUs (see Planner, step 4).
            assertEquals(CpuList.of(cpus), mask("rx-" + i, "rps_cpus"), "rx-" + i + "\n" + apply.out());
            assertEquals(CpuList.of(cpus[i]), mask("tx-" + i, "xps_cpus"), "tx-" + i + "\n" + apply.out());
        }
        assertTrue(groOn(), apply.out());
        assertTrue(Long.parseLong(nsRead("/proc/sys/net/core/somaxconn")) >= 65535);
        assertTrue(Long.parseLong(nsRead("/proc/sys/net/ipv4/tcp_max_syn_backlog")) >= 65535);
        assertEquals("10240 65535", nsRead("/proc/sys/net/ipv4/ip_local_port_range"));
        String[] rmem = nsRead("/proc/sys/net/ipv4/tcp_rmem").split(" ");
        String[] rmemBefore = originalRmem.split(" ");
        assertEquals(Math.max(4096, Long.parseLong(rmemBefore[0])), Long.parseLong(rmem[0]));
        assertEquals(Math.max(131072, Long.parseLong(rmemBefore[1])), Long.parseLong(rmem[1]));
        assertEquals(Math.max(16777216, Long.parseLong(rmemBefore[2])), Long.parseLong(rmem[2]), "never lowered");
        assertEquals(hostSomaxconn, Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).get(0).trim(),
                "the host's own network namespace is untouched");
        assertTrue(Files.exists(Path.of(state)));
        CoreMap cm = CoreMap.read(Path.of(coremap));
        assertEquals("va", cm.nic());
        assertEquals(CoreMap.Steering.RPS, cm.steering());
        assertFalse(cm.hasRss(), "veth has no RSS");
        assertEquals(n, cm.shardCount());
        for (int i = 0; i < n; i++) {
            assertEquals(cpus[i], cm.shard(i).cpu());
        }

        // verify: clean; apply again: no change.
        Run verify = nicTuning("verify", "--nic", "va", "--coremap", coremap);
        assertEquals(0, verify.code(), verify.toString());
        String stateBytes = Files.readString(Path.of(state));
        Run again = nicTuning("apply", "--yes", "--nic", "va", "--state", state, "--coremap", coremap);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("\n0 changed"), again.out());
        assertEquals(stateBytes, Files.readString(Path.of(state)));

        // Drift.
        ok(inNs("sh", "-c", "echo 0 > /sys/class/net/va/queues/rx-0/rps_cpus"), "resetting rx-0 rps_cpus");
        Run drift = nicTuning("verify", "--nic", "va", "--coremap", coremap);
        assertEquals(NicTuningMain.DRIFT, drift.code(), drift.toString());
        assertTrue(drift.out().matches("(?s).*drift\\s+rx-0 rps_cpus.*"), drift.out());

        // Revert: everything back, state and core map gone.
        Run revert = nicTuning("revert", "--yes", "--state", state, "--coremap", coremap);
        assertEquals(0, revert.code(), revert.toString());
        assertEquals(originalChannels, channels(), revert.out());
        for (int i = 0; i < 4; i++) {
            assertTrue(mask("rx-" + i, "rps_cpus").isEmpty(), "rx-" + i);
        }
        assertEquals(originalGro, groOn());
        assertEquals(originalSomaxconn, nsRead("/proc/sys/net/core/somaxconn"));
        assertEquals(originalPorts, nsRead("/proc/sys/net/ipv4/ip_local_port_range"));
        assertEquals(originalRmem, nsRead("/proc/sys/net/ipv4/tcp_rmem"));
        assertFalse(Files.exists(Path.of(state)));
        assertFalse(Files.exists(Path.of(coremap)));
        Run after = nicTuning("verify", "--nic", "va", "--no-coremap");
        assertEquals(NicTuningMain.DRIFT, after.code(), after.toString());
    }
}
