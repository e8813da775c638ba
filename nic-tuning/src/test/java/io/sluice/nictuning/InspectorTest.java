package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class InspectorTest {
    @Test
    void connectXOnATwoSocketHostWithSmt() {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.MLX5);
        CpuTopology t = inv.topology();
        assertEquals(32, t.cpus().size());
        assertEquals(2, t.packages());
        assertEquals(16, t.physicalCores());
        assertTrue(t.smt());
        assertEquals(List.of(0, 1), t.nodes());
        assertEquals("8-15,24-31", CpuList.formatList(t.cpusOfNode(1)));
        assertEquals(CpuList.of(8, 24), t.cpu(24).siblings());
        assertEquals(1, t.cpu(24).packageId());
        assertFalse(t.cpu(24).isPrimaryThread());
        assertTrue(t.cpu(8).isPrimaryThread());
        assertTrue(t.isolated().isEmpty());
        assertFalse(inv.irqbalanceRunning());

        assertEquals(List.of("eno1", "ens1f0np0"), inv.nics().stream().map(NicInfo::name).toList());
        NicInfo n = inv.nic("ens1f0np0");
        assertEquals("mlx5_core", n.driver());
        assertEquals("0000:af:00.0", n.busInfo());
        assertTrue(n.hasDevice());
        assertEquals(1, n.numaNode());
        assertEquals(32, n.rxQueues());
        assertEquals(32, n.txQueues());
        assertEquals(new EthtoolParser.Channels(-1, -1, -1, 32, -1, -1, -1, 32), n.channels());
        assertEquals(new EthtoolParser.Rings(8192, 8192, 1024, 1024), n.rings());
        assertEquals("off", n.coalesce().get("adaptive-tx"));
        assertEquals(256, n.rss().table().length);
        assertEquals(40, n.rss().key().length);
        assertEquals("toeplitz", n.rss().function());
        assertTrue(n.features().get("generic-receive-offload").on());
        assertEquals(32, n.irqs().size());
        for (int q = 0; q < 32; q++) {
            NicInfo.QueueIrq irq = n.irqsOf(q).get(0);
            assertEquals(98 + q, irq.irq());
            assertEquals("mlx5_comp" + q + "@pci:0000:af:00.0", irq.name());
        }
        assertEquals("3", n.irqsOf(0).get(0).affinity());
        assertEquals(1, n.otherIrqs().size());
        assertEquals(97, n.otherIrqs().get(0).irq());
        assertTrue(n.notes().isEmpty(), n.notes().toString());

        NicInfo igb = inv.nic("eno1");
        assertEquals("igb", igb.driver());
        assertEquals(0, igb.numaNode());
        assertEquals(List.of(60, 61, 62, 63), igb.irqs().stream().map(NicInfo.QueueIrq::irq).toList());
        assertEquals(59, igb.otherIrqs().get(0).irq());

        assertEquals("131072", inv.sysctls().get("net.core.somaxconn"));
        assertEquals("32768 60999", inv.sysctls().get("net.ipv4.ip_local_port_range"));
    }

    @Test
    void e810WithIsolatedCpusAndIrqbalance() {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.ICE);
        assertEquals("2-7,18-23", CpuList.formatList(inv.topology().isolated()));
        assertTrue(inv.irqbalanceRunning());
        assertEquals(1, inv.topology().packages());
        NicInfo n = inv.nic("ens785f0");
        assertEquals("ice", n.driver());
        assertEquals(0, n.numaNode());
        assertEquals(32, n.channels().maxRx());
        assertEquals(-1, n.channels().rx(), "RX: 0 means no rx-only queues");
        assertEquals(32, n.channels().currentQueues());
        assertEquals(2048, n.rss().table().length);
        assertEquals(52, n.rss().key().length);
        assertEquals(121, n.irqsOf(0).get(0).irq());
        assertEquals(152, n.irqsOf(31).get(0).irq());
        assertEquals("ice-0000:17:00.0:misc", n.otherIrqs().get(0).name());
        assertTrue(n.features().get("large-receive-offload").fixed());
    }

    @Test
    void x710WithoutNumaNodeBesideVirtualInterfaces() {
        Inspector.Inventory inv = Fixtures.inspect(Fixtures.I40E);
        assertEquals(List.of("docker0", "eno1", "veth3f2a1b0"), inv.nics().stream().map(NicInfo::name).toList());
        NicInfo eno1 = inv.nic("eno1");
        assertEquals("i40e", eno1.driver());
        assertEquals(-1, eno1.numaNode());
        assertEquals(8, eno1.irqs().size());
        assertEquals(512, eno1.rss().table().length);
        NicInfo bridge = inv.nic("docker0");
        assertFalse(bridge.hasDevice());
        assertEquals("bridge", bridge.driver(), "from ethtool -i when sysfs has no device");
        assertNull(bridge.channels());
        assertTrue(bridge.notes().stream().anyMatch(s -> s.startsWith("channels (ethtool -l): ")), bridge.notes()
                .toString());
        assertEquals("veth", inv.nic("veth3f2a1b0").driver());
        assertFalse(inv.topology().smt());
        assertEquals(8, inv.topology().physicalCores());
    }

    @Test
    void queueInterruptNamesPerDriver() {
        assertEquals(3, Inspector.queueOf("ice", "eth0", "", "ice-eth0-TxRx-3"));
        assertEquals(-1, Inspector.queueOf("ice", "eth0", "", "ice-0000:17:00.0:misc"));
        assertEquals(-1, Inspector.queueOf("ice", "eth0", "", "ice-eth1-TxRx-3"));
        assertEquals(12, Inspector.queueOf("i40e", "eno1", "", "i40e-eno1-TxRx-12"));
        assertEquals(5, Inspector.queueOf("ixgbe", "eth2", "", "eth2-TxRx-5"));
        assertEquals(7, Inspector.queueOf("ena", "ens5", "", "ens5-Tx-Rx-7"));
        assertEquals(1, Inspector.queueOf("virtio_net", "eth0", "", "virtio2-input.1"));
        assertEquals(1, Inspector.queueOf("virtio_net", "eth0", "", "virtio2-output.1"));
        assertEquals(-1, Inspector.queueOf("virtio_net", "eth0", "", "virtio2-config"));
        assertEquals(4, Inspector.queueOf("mlx5_core", "p1", "0000:af:00.0", "mlx5_comp4@pci:0000:af:00.0"));
        assertEquals(-1, Inspector.queueOf("mlx5_core", "p1", "0000:af:00.0", "mlx5_comp4@pci:0000:af:00.1"),
                "the other port's vector");
        assertEquals(4, Inspector.queueOf("mlx5_core", "p1", "0000:af:00.0", "mlx5_comp4"), "older kernels");
        assertEquals(-1, Inspector.queueOf("mlx5_core", "p1", "0000:af:00.0", "mlx5_async0@pci:0000:af:00.0"));
    }
}
