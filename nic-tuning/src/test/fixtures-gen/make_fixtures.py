#!/usr/bin/env python3
"""Writes the fixture trees under src/test/resources/fixtures/ (run from the nic-tuning directory).

Each fixture is <name>/root (the sysfs/procfs files nic-tuning reads, at their real paths) and <name>/ethtool
(<nic>/<letter>.txt: what `ethtool -<letter> <nic>` prints). The hosts are modelled on real ones; the values
are the drivers' defaults after irqbalance has scattered the interrupts (mlx5) or is still running (ice).

  mlx5-2socket  two sockets x 8 cores x 2 threads (32 CPUs, Intel numbering), ConnectX-6 Dx (mlx5_core) on
                node 1 with 32 channels, plus an onboard 1GbE (igb, no profile) on node 0
  ice-isolated  one socket, 16 cores x 2 threads, isolcpus=2-7,18-23, E810 (ice), irqbalance running
  i40e-nonuma   one socket, 8 cores, no SMT, X710 (i40e) whose PCI numa_node is -1, plus docker0 and a veth
"""
import os
import shutil

OUT = "src/test/resources/fixtures"


def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def cpulist(cpus):
    cpus = sorted(cpus)
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out)


def mask(cpus, ncpus):
    v = 0
    for c in cpus:
        v |= 1 << c
    groups = max(1, (ncpus + 31) // 32)
    return ",".join("%08x" % ((v >> (32 * g)) & 0xffffffff) for g in reversed(range(groups)))


def keyhex(seed, n):
    # A fixed pseudo-random key, as drivers fill with netdev_rss_key_fill().
    x, out = seed, []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        out.append("%02x" % ((x >> 33) & 0xff))
    return ":".join(out)


class Host:
    def __init__(self, name):
        self.dir = os.path.join(OUT, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.root = os.path.join(self.dir, "root")
        self.eth = os.path.join(self.dir, "ethtool")
        self.irqs = []  # (irq, chip, hwirq, name, affinity)

    def f(self, path, text):
        w(self.root + path, text)

    def cpus(self, topo, nodes, isolated):
        """topo: list of (cpu, package, core, siblings)."""
        n = len(topo)
        self.ncpus = n
        self.f("/sys/devices/system/cpu/online", "0-%d\n" % (n - 1))
        self.f("/sys/devices/system/cpu/possible", "0-%d\n" % (n - 1))
        self.f("/sys/devices/system/cpu/isolated", cpulist(isolated) + "\n")
        for cpu, pkg, core, sib in topo:
            b = "/sys/devices/system/cpu/cpu%d/topology/" % cpu
            self.f(b + "physical_package_id", "%d\n" % pkg)
            self.f(b + "core_id", "%d\n" % core)
            self.f(b + "thread_siblings_list", cpulist(sib) + "\n")
            self.f(b + "core_cpus_list", cpulist(sib) + "\n")
            self.f(b + "thread_siblings", mask(sib, n) + "\n")
        for node, cpus in nodes.items():
            self.f("/sys/devices/system/node/node%d/cpulist" % node, cpulist(cpus) + "\n")
        self.f("/sys/devices/system/node/online", cpulist(list(nodes)) + "\n")

    def sysctls(self, values):
        for k, v in values.items():
            self.f("/proc/sys/" + k.replace(".", "/"), v + "\n")

    def procs(self, comms):
        for pid, comm in comms.items():
            self.f("/proc/%d/comm" % pid, comm + "\n")

    def nic(self, name, driver, bus, numa, rxq, txq, xps=None, device=True, uevent_extra=""):
        b = "/sys/class/net/" + name
        if device:
            self.f(b + "/device/uevent", "DRIVER=%s\n%sPCI_SLOT_NAME=%s\n" % (driver, uevent_extra, bus))
            self.f(b + "/device/numa_node", "%d\n" % numa)
        self.f(b + "/operstate", "up\n")
        self.f(b + "/mtu", "1500\n")
        for q in range(rxq):
            self.f(b + "/queues/rx-%d/rps_cpus" % q, mask([], self.ncpus) + "\n")
            self.f(b + "/queues/rx-%d/rps_flow_cnt" % q, "0\n")
        for q in range(txq):
            cpus = xps(q) if xps else []
            self.f(b + "/queues/tx-%d/xps_cpus" % q, mask(cpus, self.ncpus) + "\n")
            self.f(b + "/queues/tx-%d/xps_rxqs" % q, "0\n")
            self.f(b + "/queues/tx-%d/tx_maxrate" % q, "0\n")

    def irq(self, irq, chip, hwirq, name, affinity, msi_of=None):
        self.irqs.append((irq, chip, hwirq, name))
        self.f("/proc/irq/%d/smp_affinity_list" % irq, cpulist(affinity) + "\n")
        self.f("/proc/irq/%d/smp_affinity" % irq, mask(affinity, self.ncpus) + "\n")
        if msi_of:
            self.f("/sys/class/net/%s/device/msi_irqs/%d" % (msi_of, irq), "msix\n")

    def interrupts(self):
        n = self.ncpus
        lines = [" " * 11 + "".join("CPU%-8d" % c for c in range(n)).rstrip()]
        sys_irqs = [(0, "IR-IO-APIC", "2-edge", "timer"), (8, "IR-IO-APIC", "8-edge", "rtc0"),
                    (9, "IR-IO-APIC", "9-fasteoi", "acpi")]
        for irq, chip, hwirq, name in sys_irqs + sorted(self.irqs):
            counts = "".join("%11d" % ((irq * 7919 + c * 104729) % 100000 if c % 3 == 0 else 0) for c in range(n))
            lines.append("%4d:%s  %-22s %-11s %s" % (irq, counts, chip, hwirq, name))
        lines.append(" NMI:" + "".join("%11d" % 12 for _ in range(n)) + "   Non-maskable interrupts")
        lines.append(" LOC:" + "".join("%11d" % 123456 for _ in range(n)) + "   Local timer interrupts")
        lines.append(" ERR:          0")
        self.f("/proc/interrupts", "\n".join(lines) + "\n")

    def ethtool(self, nic, letter, text):
        w(os.path.join(self.eth, nic, letter + ".txt"), text)


def channels(nic, maxs, cur):
    def fmt(d):
        return "".join("%s:\t%s\n" % (k, "\t" + str(v) if k != "Combined" else v)
                       for k, v in zip(("RX", "TX", "Other", "Combined"), d))
    return ("Channels parameters for %s:\n" % nic).replace("Channels", "Channel") + "Pre-set maximums:\n" + fmt(maxs) \
        + "Current hardware settings:\n" + fmt(cur)


def rings(nic, max_rx, max_tx, rx, tx):
    return ("Ring parameters for %s:\n"
            "Pre-set maximums:\n"
            "RX:\t\t\t%d\nRX Mini:\t\tn/a\nRX Jumbo:\t\tn/a\nTX:\t\t\t%d\nTX push buff len:\tn/a\n"
            "Current hardware settings:\n"
            "RX:\t\t\t%d\nRX Mini:\t\tn/a\nRX Jumbo:\t\tn/a\nTX:\t\t\t%d\n"
            "RX Buf Len:\t\tn/a\nCQE Size:\t\tn/a\nTX Push:\t\toff\nRX Push:\t\toff\n"
            "TX push buff len:\tn/a\nTCP data split:\t\toff\n") % (nic, max_rx, max_tx, rx, tx)


def coalesce(nic, arx, atx, vals):
    keys = ["stats-block-usecs", "sample-interval", "pkt-rate-low", "pkt-rate-high", "",
            "rx-usecs", "rx-frames", "rx-usecs-irq", "rx-frames-irq", "",
            "tx-usecs", "tx-frames", "tx-usecs-irq", "tx-frames-irq", "",
            "rx-usecs-low", "rx-frame-low", "tx-usecs-low", "tx-frame-low", "",
            "rx-usecs-high", "rx-frame-high", "tx-usecs-high", "tx-frame-high", ""]
    out = "Coalesce parameters for %s:\nAdaptive RX: %s  TX: %s\n" % (nic, arx, atx)
    for k in keys:
        out += "\n" if k == "" else "%s: %s\n" % (k, vals.get(k, "n/a"))
    return out + "CQE mode RX: n/a  TX: n/a\n"


def rss(nic, rings_, table, key):
    out = "RX flow hash indirection table for %s with %d RX ring(s):\n" % (nic, rings_)
    for i in range(0, len(table), 8):
        out += "%5d:" % i + "".join("%6d" % q for q in table[i:i + 8]) + "\n"
    out += "RSS hash key:\n%s\nRSS hash function:\n    toeplitz: on\n    xor: off\n    crc32: off\n" % key
    return out + "RSS input transformation:\n    symmetric-xor: off\n"


def features(nic, overrides):
    base = [
        ("rx-checksumming", "on", ""), ("tx-checksumming", "on", ""),
        ("\ttx-checksum-ipv4", "off", " [fixed]"), ("\ttx-checksum-ip-generic", "on", ""),
        ("\ttx-checksum-ipv6", "off", " [fixed]"), ("\ttx-checksum-fcoe-crc", "off", " [fixed]"),
        ("\ttx-checksum-sctp", "off", " [fixed]"),
        ("scatter-gather", "on", ""), ("\ttx-scatter-gather", "on", ""),
        ("\ttx-scatter-gather-fraglist", "off", " [fixed]"),
        ("tcp-segmentation-offload", "on", ""), ("\ttx-tcp-segmentation", "on", ""),
        ("\ttx-tcp-ecn-segmentation", "off", " [fixed]"), ("\ttx-tcp-mangleid-segmentation", "off", ""),
        ("\ttx-tcp6-segmentation", "on", ""),
        ("generic-segmentation-offload", "on", ""), ("generic-receive-offload", "on", ""),
        ("large-receive-offload", "off", ""), ("rx-vlan-offload", "on", ""), ("tx-vlan-offload", "on", ""),
        ("ntuple-filters", "off", ""), ("receive-hashing", "on", ""), ("highdma", "on", " [fixed]"),
        ("rx-vlan-filter", "on", ""), ("vlan-challenged", "off", " [fixed]"),
        ("tx-lockless", "off", " [fixed]"), ("netns-local", "off", " [fixed]"),
        ("tx-gso-robust", "off", " [fixed]"), ("tx-fcoe-segmentation", "off", " [fixed]"),
        ("tx-gre-segmentation", "on", ""), ("tx-udp_tnl-segmentation", "on", ""),
        ("tx-gso-partial", "on", ""), ("tx-udp-segmentation", "on", ""),
        ("rx-fcs", "off", ""), ("rx-all", "off", ""), ("hw-tc-offload", "off", ""),
        ("rx-gro-hw", "off", " [fixed]"), ("rx-gro-list", "off", ""), ("rx-udp-gro-forwarding", "off", ""),
    ]
    out = "Features for %s:\n" % nic
    for name, val, fixed in base:
        key = name.strip()
        if key in overrides:
            val, fixed = overrides[key]
        out += "%s: %s%s\n" % (name, val, fixed)
    return out


def driver_info(driver, version, fw, bus):
    return ("driver: %s\nversion: %s\nfirmware-version: %s\nexpansion-rom-version: \nbus-info: %s\n"
            "supports-statistics: yes\nsupports-test: yes\nsupports-eeprom-access: no\n"
            "supports-register-dump: no\nsupports-priv-flags: yes\n") % (driver, version, fw, bus)


DEFAULT_SYSCTLS = {
    "net.core.somaxconn": "4096", "net.ipv4.tcp_max_syn_backlog": "1024", "net.core.netdev_max_backlog": "1000",
    "net.ipv4.ip_local_port_range": "32768\t60999", "net.core.busy_poll": "0", "net.core.busy_read": "0",
    "net.core.rmem_max": "212992", "net.core.wmem_max": "212992",
    "net.ipv4.tcp_rmem": "4096\t131072\t6291456", "net.ipv4.tcp_wmem": "4096\t16384\t4194304",
}


def mlx5_2socket():
    h = Host("mlx5-2socket")
    topo = []
    for cpu in range(32):
        pkg = (cpu // 8) % 2
        core = cpu % 8
        first = pkg * 8 + core
        topo.append((cpu, pkg, core, [first, first + 16]))
    nodes = {0: list(range(0, 8)) + list(range(16, 24)), 1: list(range(8, 16)) + list(range(24, 32))}
    h.cpus(topo, nodes, [])
    sysctls = dict(DEFAULT_SYSCTLS)
    sysctls["net.core.somaxconn"] = "131072"  # raised by someone already: the plan must not lower it
    h.sysctls(sysctls)
    h.procs({1: "systemd", 812: "sshd", 1290: "kubelet"})
    node1_spread = nodes[1] + nodes[0]  # cpumask_local_spread order for a node-1 device

    nic, bus = "ens1f0np0", "0000:af:00.0"
    h.nic(nic, "mlx5_core", bus, 1, 32, 32, xps=lambda q: [node1_spread[q]],
          uevent_extra="PCI_CLASS=20000\nPCI_ID=15B3:101D\nPCI_SUBSYS_ID=15B3:0016\n")
    h.irq(97, "IR-PCI-MSIX-" + bus, "0-edge", "mlx5_async0@pci:" + bus, list(range(32)), msi_of=nic)
    for q in range(32):
        # irqbalance ran until recently and left the completion IRQs spread over both sockets.
        h.irq(98 + q, "IR-PCI-MSIX-" + bus, "%d-edge" % (q + 1), "mlx5_comp%d@pci:%s" % (q, bus),
              [(q * 5 + 3) % 32], msi_of=nic)
    h.ethtool(nic, "i", driver_info("mlx5_core", "6.8.0-45-generic", "22.39.1002 (MT_0000000359)", bus))
    h.ethtool(nic, "l", channels(nic, ("n/a", "n/a", "n/a", 32), ("n/a", "n/a", "n/a", 32)))
    h.ethtool(nic, "g", rings(nic, 8192, 8192, 1024, 1024))
    h.ethtool(nic, "c", coalesce(nic, "on", "off", {"rx-usecs": "8", "rx-frames": "128", "tx-usecs": "16",
                                                    "tx-frames": "32"}))
    h.ethtool(nic, "x", rss(nic, 32, [i % 32 for i in range(256)], keyhex(5, 40)))
    h.ethtool(nic, "k", features(nic, {"rx-gro-hw": ("off", ""), "large-receive-offload": ("off", "")}))

    nic2, bus2 = "eno1", "0000:02:00.0"
    h.nic(nic2, "igb", bus2, 0, 4, 4)
    h.irq(59, "IR-PCI-MSIX-" + bus2, "0-edge", "eno1", [0], msi_of=nic2)
    for q in range(4):
        h.irq(60 + q, "IR-PCI-MSIX-" + bus2, "%d-edge" % (q + 1), "eno1-TxRx-%d" % q, [q], msi_of=nic2)
    h.ethtool(nic2, "i", driver_info("igb", "6.8.0-45-generic", "1.63, 0x800009fa", bus2))
    h.ethtool(nic2, "l", channels(nic2, ("n/a", "n/a", 1, 8), ("n/a", "n/a", 1, 4)))
    h.ethtool(nic2, "g", rings(nic2, 4096, 4096, 256, 256))
    h.ethtool(nic2, "c", coalesce(nic2, "n/a", "n/a", {"rx-usecs": "3", "tx-usecs": "n/a"}))
    h.ethtool(nic2, "x", rss(nic2, 4, [i % 4 for i in range(128)], keyhex(7, 40)))
    h.ethtool(nic2, "k", features(nic2, {"large-receive-offload": ("off", " [fixed]")}))
    h.interrupts()


def ice_isolated():
    h = Host("ice-isolated")
    topo = [(cpu, 0, cpu % 16, [cpu % 16, cpu % 16 + 16]) for cpu in range(32)]
    h.cpus(topo, {0: list(range(32))}, list(range(2, 8)) + list(range(18, 24)))
    h.sysctls(DEFAULT_SYSCTLS)
    h.procs({1: "systemd", 733: "irqbalance", 901: "sshd"})
    nic, bus = "ens785f0", "0000:17:00.0"
    h.nic(nic, "ice", bus, 0, 32, 32, xps=lambda q: [q],
          uevent_extra="PCI_CLASS=20000\nPCI_ID=8086:1592\nPCI_SUBSYS_ID=8086:0002\n")
    h.irq(120, "IR-PCI-MSIX-" + bus, "0-edge", "ice-%s:misc" % bus, [0], msi_of=nic)
    for q in range(32):
        h.irq(121 + q, "IR-PCI-MSIX-" + bus, "%d-edge" % (q + 1), "ice-%s-TxRx-%d" % (nic, q),
              [(q * 7) % 32], msi_of=nic)
    h.ethtool(nic, "i", driver_info("ice", "6.8.0-45-generic", "4.40 0x8001af8e 1.3534.0", bus))
    h.ethtool(nic, "l", channels(nic, (32, 32, 1, 32), (0, 0, 1, 32)))
    h.ethtool(nic, "g", rings(nic, 8160, 8160, 2048, 2048))
    h.ethtool(nic, "c", coalesce(nic, "on", "on", {"rx-usecs": "50", "tx-usecs": "50", "rx-usecs-high": "0"}))
    h.ethtool(nic, "x", rss(nic, 32, [i % 32 for i in range(2048)], keyhex(11, 52)))
    h.ethtool(nic, "k", features(nic, {"large-receive-offload": ("off", " [fixed]"),
                                       "rx-gro-hw": ("off", " [fixed]")}))
    h.interrupts()


def i40e_nonuma():
    h = Host("i40e-nonuma")
    topo = [(cpu, 0, cpu, [cpu]) for cpu in range(8)]
    h.cpus(topo, {0: list(range(8))}, [])
    h.sysctls(DEFAULT_SYSCTLS)
    h.procs({1: "systemd", 640: "containerd", 702: "dockerd"})
    nic, bus = "eno1", "0000:3b:00.0"
    h.nic(nic, "i40e", bus, -1, 8, 8, xps=lambda q: [q],
          uevent_extra="PCI_CLASS=20000\nPCI_ID=8086:1572\nPCI_SUBSYS_ID=8086:0007\n")
    h.irq(40, "IR-PCI-MSIX-" + bus, "0-edge", "i40e-%s:misc" % bus, list(range(8)), msi_of=nic)
    for q in range(8):
        h.irq(41 + q, "IR-PCI-MSIX-" + bus, "%d-edge" % (q + 1), "i40e-%s-TxRx-%d" % (nic, q), list(range(8)),
              msi_of=nic)
    h.ethtool(nic, "i", driver_info("i40e", "6.8.0-45-generic", "9.20 0x8000d8c5 1.3429.0", bus))
    h.ethtool(nic, "l", channels(nic, ("n/a", "n/a", 1, 8), ("n/a", "n/a", 1, 8)))
    h.ethtool(nic, "g", rings(nic, 4096, 4096, 512, 512))
    h.ethtool(nic, "c", coalesce(nic, "on", "off", {"rx-usecs": "50", "tx-usecs": "50", "rx-usecs-high": "0"}))
    h.ethtool(nic, "x", rss(nic, 8, [i % 8 for i in range(512)], keyhex(13, 52)))
    h.ethtool(nic, "k", features(nic, {"large-receive-offload": ("off", " [fixed]"),
                                       "generic-receive-offload": ("off", "")}))
    # Virtual interfaces: no device directory.
    for name, drv in (("docker0", "bridge"), ("veth3f2a1b0", "veth")):
        h.nic(name, drv, "", -1, 1, 1, device=False)
        w(os.path.join(h.eth, name, "i.txt"), driver_info(drv, "1.0", "N/A", ""))
    h.interrupts()


if __name__ == "__main__":
    mlx5_2socket()
    ice_isolated()
    i40e_nonuma()
