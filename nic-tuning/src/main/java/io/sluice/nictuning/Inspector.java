package io.sluice.nictuning;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what {@code inspect} reports, from sysfs, procfs and ethtool: each NIC's driver, NUMA node, queues and their
 * interrupts, channels, rings, coalescing, RSS and offloads; the CPU topology; whether irqbalance runs; and the
 * sysctls the plan sets.
 */
final class Inspector {
    /** Drivers nic-tuning has a profile for; others are reported as unknown by the planner. */
    static final List<String> KNOWN_DRIVERS =
            List.of("mlx5_core", "ice", "i40e", "ixgbe", "virtio_net", "ena", "veth");

    private static final Pattern MLX5 = Pattern.compile("^mlx5_comp(\\d+)(?:@pci:(\\S+))?$");
    private static final Pattern VIRTIO = Pattern.compile("^virtio\\d+-(?:input|output)\\.(\\d+)$");

    private final HostFs fs;
    private final Ethtool ethtool;

    Inspector(HostFs fs, Ethtool ethtool) {
        this.fs = Objects.requireNonNull(fs, "fs");
        this.ethtool = Objects.requireNonNull(ethtool, "ethtool");
    }

    /** Everything {@code inspect} shows. */
    record Inventory(CpuTopology topology, List<NicInfo> nics, boolean irqbalanceRunning,
            Map<String, String> sysctls) {
        NicInfo nic(String name) {
            for (NicInfo n : nics) {
                if (n.name().equals(name)) {
                    return n;
                }
            }
            return null;
        }
    }

    /** Inspects the host; {@code onlyNic} (nullable) limits the NICs to one. */
    Inventory inspect(String onlyNic) {
        List<NicInfo> nics = new ArrayList<>();
        Map<Integer, String> interrupts = interrupts();
        for (String name : nicNames()) {
            if (onlyNic == null || onlyNic.equals(name)) {
                nics.add(inspectNic(name, interrupts));
            }
        }
        Map<String, String> sysctls = new LinkedHashMap<>();
        for (Planner.Sysctl s : Planner.SYSCTLS) {
            String v = fs.read(s.path());
            if (v != null) {
                sysctls.put(s.name(), v.trim().replaceAll("\\s+", " "));
            }
        }
        return new Inventory(CpuTopology.read(fs), nics, irqbalanceRunning(), sysctls);
    }

    /** Interfaces in {@code /sys/class/net}, without the loopback. */
    List<String> nicNames() {
        List<String> names = new ArrayList<>();
        for (String name : fs.list("/sys/class/net")) {
            if (!name.equals("lo") && fs.isDirectory("/sys/class/net/" + name)) {
                names.add(name);
            }
        }
        return names;
    }

    NicInfo inspectNic(String name, Map<Integer, String> interrupts) {
        String base = "/sys/class/net/" + name;
        List<String> notes = new ArrayList<>();
        boolean hasDevice = fs.exists(base + "/device");
        Map<String, String> uevent = keyValues(fs.read(base + "/device/uevent"));
        Ethtool.Result info = ethtool.run("-i", name);
        Map<String, String> driverInfo = info.ok() ? EthtoolParser.driverInfo(info.stdout()) : Map.of();

        String driver = fs.linkName(base + "/device/driver");
        if (driver == null) {
            driver = uevent.get("DRIVER");
        }
        if (driver == null) {
            driver = driverInfo.get("driver");
        }
        if (driver == null || driver.isEmpty()) {
            driver = "unknown";
            notes.add("driver: not found in sysfs" + (info.ok() ? "" : " and ethtool -i failed: " + info.message()));
        }
        String bus = uevent.getOrDefault("PCI_SLOT_NAME", driverInfo.getOrDefault("bus-info", ""));

        int numa = -1;
        String numaText = fs.read(base + "/device/numa_node");
        if (numaText == null) {
            numaText = fs.read(base + "/device/../numa_node"); // virtio: the PCI function is the parent
        }
        if (numaText != null) {
            try {
                numa = Integer.parseInt(numaText.trim());
            } catch (NumberFormatException e) {
                notes.add("numa_node: unreadable '" + numaText + "'");
            }
        }

        int rxQueues = 0;
        int txQueues = 0;
        for (String q : fs.list(base + "/queues")) {
            if (q.startsWith("rx-")) {
                rxQueues++;
            } else if (q.startsWith("tx-")) {
                txQueues++;
            }
        }

        EthtoolParser.Channels channels = null;
        Ethtool.Result l = ethtool.run("-l", name);
        if (l.ok()) {
            channels = EthtoolParser.channels(l.stdout());
        } else {
            notes.add("channels (ethtool -l): " + l.message());
        }
        EthtoolParser.Rings rings = null;
        Ethtool.Result g = ethtool.run("-g", name);
        if (g.ok()) {
            rings = EthtoolParser.rings(g.stdout());
        } else {
            notes.add("rings (ethtool -g): " + g.message());
        }
        Map<String, String> coalesce = Map.of();
        Ethtool.Result c = ethtool.run("-c", name);
        if (c.ok()) {
            coalesce = EthtoolParser.coalesce(c.stdout());
        } else {
            notes.add("coalescing (ethtool -c): " + c.message());
        }
        EthtoolParser.Rss rss = null;
        Ethtool.Result x = ethtool.run("-x", name);
        if (x.ok()) {
            rss = EthtoolParser.rss(x.stdout());
            if (rss.table().length == 0) {
                notes.add("RSS (ethtool -x): no indirection table shown");
                rss = null;
            }
        } else {
            notes.add("RSS (ethtool -x): " + x.message());
        }
        Map<String, EthtoolParser.Feature> features = Map.of();
        Ethtool.Result k = ethtool.run("-k", name);
        if (k.ok()) {
            features = EthtoolParser.features(k.stdout());
        } else {
            notes.add("offloads (ethtool -k): " + k.message());
        }

        List<NicInfo.QueueIrq> queueIrqs = new ArrayList<>();
        List<NicInfo.QueueIrq> otherIrqs = new ArrayList<>();
        List<Integer> candidates = deviceIrqs(base, interrupts);
        for (int irq : candidates) {
            String irqName = interrupts.getOrDefault(irq, "");
            int queue = queueOf(driver, name, bus, irqName);
            String affinity = fs.read("/proc/irq/" + irq + "/smp_affinity_list");
            NicInfo.QueueIrq qi = new NicInfo.QueueIrq(queue, irq, irqName, affinity == null ? "" : affinity);
            if (queue >= 0) {
                queueIrqs.add(qi);
            } else if (fs.isDirectory(base + "/device/msi_irqs") || fs.isDirectory(base + "/device/../msi_irqs")) {
                otherIrqs.add(qi);
            }
        }
        queueIrqs.sort((a, b) -> a.queue() != b.queue() ? Integer.compare(a.queue(), b.queue())
                : Integer.compare(a.irq(), b.irq()));
        return new NicInfo(name, driver, bus, hasDevice, numa, rxQueues, txQueues, channels, rings, coalesce, rss,
                features, List.copyOf(queueIrqs), List.copyOf(otherIrqs), List.copyOf(notes));
    }

    /** The device's MSI/MSI-X interrupts if sysfs lists them, else every interrupt (matched by name later). */
    private List<Integer> deviceIrqs(String base, Map<Integer, String> interrupts) {
        for (String dir : new String[] {base + "/device/msi_irqs", base + "/device/../msi_irqs"}) {
            if (fs.isDirectory(dir)) {
                List<Integer> irqs = new ArrayList<>();
                for (String n : fs.list(dir)) {
                    if (n.matches("\\d+")) {
                        irqs.add(Integer.parseInt(n));
                    }
                }
                irqs.sort(null);
                return irqs;
            }
        }
        return new ArrayList<>(interrupts.keySet());
    }

    /**
     * The queue an interrupt serves, from the name the driver gave it in {@code /proc/interrupts}; -1 if it is not a
     * queue interrupt of this device.
     */
    static int queueOf(String driver, String device, String bus, String irqName) {
        if (irqName.isEmpty()) {
            return -1;
        }
        switch (driver) {
            case "mlx5_core" -> {
                // Completion vector i serves channel i.
                Matcher m = MLX5.matcher(irqName);
                if (m.matches() && (m.group(2) == null || bus.isEmpty() || m.group(2).equals(bus))) {
                    return Integer.parseInt(m.group(1));
                }
                return -1;
            }
            case "virtio_net" -> {
                Matcher m = VIRTIO.matcher(irqName);
                return m.matches() ? Integer.parseInt(m.group(1)) : -1;
            }
            default -> {
                // ice-eth0-TxRx-3, i40e-eth0-TxRx-3, eth0-TxRx-3 (ixgbe), eth0-Tx-Rx-3 (ena), eth0-rx-3, eth0-3.
                Matcher m = Pattern.compile("^(?:[a-z0-9_]+-)?" + Pattern.quote(device)
                        + "-(?:TxRx-|Tx-Rx-|rx-|tx-|rxtx-|txrx-|fp-|q)?(\\d+)$").matcher(irqName);
                return m.matches() ? Integer.parseInt(m.group(1)) : -1;
            }
        }
    }

    /** {@code /proc/interrupts}: interrupt number to name (the last column). */
    Map<Integer, String> interrupts() {
        Map<Integer, String> out = new LinkedHashMap<>();
        String text = fs.read("/proc/interrupts");
        if (text == null) {
            return out;
        }
        for (String line : text.split("\n")) {
            String t = line.trim();
            int colon = t.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String number = t.substring(0, colon);
            if (!number.matches("\\d+")) {
                continue;
            }
            String[] tokens = t.substring(colon + 1).trim().split("\\s+");
            out.put(Integer.parseInt(number), tokens.length == 0 ? "" : tokens[tokens.length - 1]);
        }
        return out;
    }

    boolean irqbalanceRunning() {
        for (String pid : fs.list("/proc")) {
            if (pid.matches("\\d+") && "irqbalance".equals(fs.read("/proc/" + pid + "/comm"))) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, String> keyValues(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        if (text != null) {
            for (String line : text.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    out.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
                }
            }
        }
        return out;
    }
}
