package io.sluice.nictuning;

import io.sluice.nictuning.Setting.EthtoolSetting;
import io.sluice.nictuning.Setting.FileSetting;
import io.sluice.nictuning.rss.ToeplitzHash;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * Turns an inventory into a plan for one NIC: which CPUs become shards, which queue each owns, and every setting that
 * makes the NIC deliver each queue to its shard's CPU.
 *
 * <p>Rules: shards go on CPUs of the NIC's NUMA node (the isolated ones, if the node has any; all of them otherwise),
 * one per physical core (the lowest-numbered thread; with {@code --smt} every thread), at most as many as the NIC has
 * queues. Shard {@code i} owns queue {@code i}. The NIC is set to exactly that many channels and its RSS indirection
 * table to spread evenly over them; each queue's interrupts are pinned to its shard's CPU (or, with no per-queue
 * interrupts, as on veth, RPS sends the queue to that CPU); XPS maps each shard's CPU to its transmit queue; rings,
 * coalescing and offloads follow the driver's profile; and the sysctls below are set.
 */
final class Planner {
    /**
     * A sysctl the plan sets.
     *
     * @param name dotted name
     * @param value planned value
     * @param format how values compare ({@code AT_LEAST}: a larger current value is kept)
     * @param why reason shown in the plan
     */
    record Sysctl(String name, String value, FileSetting.Format format, String why) {
        String path() {
            return "/proc/sys/" + name.replace('.', '/');
        }
    }

    /** The sysctls of a proxy node. busy_poll/busy_read take their value from {@code --busy-poll}. */
    static final List<Sysctl> SYSCTLS = List.of(
            new Sysctl("net.core.somaxconn", "65535", FileSetting.Format.AT_LEAST,
                    "accept queue of busy listeners"),
            new Sysctl("net.ipv4.tcp_max_syn_backlog", "65535", FileSetting.Format.AT_LEAST,
                    "half-open connections during bursts"),
            new Sysctl("net.core.netdev_max_backlog", "16384", FileSetting.Format.AT_LEAST,
                    "per-CPU queue of received packets"),
            new Sysctl("net.ipv4.ip_local_port_range", "10240 65535", FileSetting.Format.TEXT,
                    "local ports for upstream connections (and the RSS port solver)"),
            new Sysctl("net.core.busy_poll", "50", FileSetting.Format.TEXT,
                    "µs to busy-poll the queue in epoll before sleeping"),
            new Sysctl("net.core.busy_read", "50", FileSetting.Format.TEXT,
                    "µs to busy-poll the queue on socket reads"),
            new Sysctl("net.core.rmem_max", "16777216", FileSetting.Format.AT_LEAST,
                    "largest receive buffer a socket may ask for"),
            new Sysctl("net.core.wmem_max", "16777216", FileSetting.Format.AT_LEAST,
                    "largest send buffer a socket may ask for"),
            new Sysctl("net.ipv4.tcp_rmem", "4096 131072 16777216", FileSetting.Format.AT_LEAST_EACH,
                    "TCP receive buffer min/default/max (larger values kept)"),
            new Sysctl("net.ipv4.tcp_wmem", "4096 16384 16777216", FileSetting.Format.AT_LEAST_EACH,
                    "TCP send buffer min/default/max (larger values kept)"));

    /**
     * What the operator asked for.
     *
     * @param nic interface to plan for; null to pick the only NIC with a device
     * @param smt give SMT siblings their own shards
     * @param cpus use exactly these CPUs (null: the NIC's NUMA node)
     * @param maxShards at most this many shards (0: no limit)
     * @param allowUnknownDriver plan for a driver without a profile
     * @param sysctls include the sysctls
     * @param busyPollMicros value for busy_poll/busy_read; 0 leaves them alone
     */
    record Options(String nic, boolean smt, BitSet cpus, int maxShards, boolean allowUnknownDriver, boolean sysctls,
            int busyPollMicros) {
        static Options defaults() {
            return new Options(null, false, null, 0, false, true, 50);
        }
    }

    /**
     * The plan.
     *
     * @param nic the NIC it is for
     * @param profile the driver profile used
     * @param numaNode the node whose CPUs were used (-1 if the CPUs were given)
     * @param coreMap the shards and RSS state the data plane reads
     * @param settings the settings, in the order they are applied
     * @param warnings things the operator should know
     */
    record Plan(NicInfo nic, DriverProfile profile, int numaNode, CoreMap coreMap, List<Setting> settings,
            List<String> warnings) {
    }

    /** A plan that cannot be made, with the reason. */
    static final class PlanException extends Exception {
        PlanException(String message) {
            super(message);
        }
    }

    private Planner() {
    }

    /** The NIC a plan is for: the named one, or the only one backed by a device. */
    static NicInfo chooseNic(Inspector.Inventory inv, String name) throws PlanException {
        if (name != null) {
            NicInfo nic = inv.nic(name);
            if (nic == null) {
                throw new PlanException("no interface named " + name + " (found: " + names(inv.nics()) + ")");
            }
            return nic;
        }
        List<NicInfo> devices = inv.nics().stream().filter(NicInfo::hasDevice).toList();
        if (devices.size() == 1) {
            return devices.get(0);
        }
        if (devices.isEmpty() && inv.nics().size() == 1) {
            return inv.nics().get(0);
        }
        throw new PlanException((devices.isEmpty() ? "no NIC backed by a device" : "several NICs")
                + " (found: " + names(inv.nics()) + "): choose one with --nic NAME");
    }

    private static String names(List<NicInfo> nics) {
        return nics.isEmpty() ? "none" : String.join(", ", nics.stream().map(NicInfo::name).toList());
    }

    static Plan plan(Inspector.Inventory inv, Options opts) throws PlanException {
        NicInfo nic = chooseNic(inv, opts.nic());
        List<String> warnings = new ArrayList<>();
        DriverProfile profile = DriverProfile.of(nic.driver());
        if (profile == null) {
            if (!opts.allowUnknownDriver()) {
                throw new PlanException("unknown driver '" + nic.driver() + "' on " + nic.name()
                        + ": nic-tuning has profiles for " + String.join(", ", Inspector.KNOWN_DRIVERS)
                        + "; pass --allow-unknown-driver to plan queues, IRQ affinity, RSS, XPS and sysctls only");
            }
            profile = DriverProfile.generic(nic.driver());
            warnings.add("driver " + nic.driver() + " has no profile: rings and coalescing are left as they are");
        }
        CpuTopology topo = inv.topology();

        // 1. The CPUs: the NIC's NUMA node, its isolated CPUs if it has any, one thread per physical core.
        int node = -1;
        BitSet pool;
        if (opts.cpus() != null) {
            pool = (BitSet) opts.cpus().clone();
            BitSet offline = (BitSet) pool.clone();
            offline.andNot(topo.online());
            if (!offline.isEmpty()) {
                throw new PlanException("--cpus names CPUs that are not online: " + CpuList.formatList(offline));
            }
        } else {
            node = nic.numaNode();
            if (node < 0) {
                List<Integer> nodes = topo.nodes();
                node = nodes.isEmpty() ? 0 : nodes.get(0);
                if (nodes.size() > 1) {
                    warnings.add(nic.name() + " reports no NUMA node (-1): using node " + node
                            + "; check the BIOS/ACPI tables or pass --cpus");
                }
            }
            pool = topo.cpusOfNode(node);
            BitSet isolated = topo.isolated();
            isolated.and(pool);
            if (!isolated.isEmpty()) {
                pool = isolated;
            } else if (!topo.isolated().isEmpty()) {
                warnings.add("isolated CPUs " + CpuList.formatList(topo.isolated()) + " are not on node " + node
                        + ": shards use the node's ordinary CPUs");
            }
        }
        if (pool.isEmpty()) {
            throw new PlanException("no CPUs to place shards on (node " + node + ")");
        }
        List<Integer> shardCpus = new ArrayList<>();
        for (int cpu = pool.nextSetBit(0); cpu >= 0; cpu = pool.nextSetBit(cpu + 1)) {
            CpuTopology.Cpu c = topo.cpu(cpu);
            if (opts.smt() || c == null) {
                shardCpus.add(cpu);
                continue;
            }
            BitSet siblingsInPool = (BitSet) c.siblings().clone();
            siblingsInPool.and(pool);
            if (siblingsInPool.nextSetBit(0) == cpu || siblingsInPool.isEmpty()) {
                shardCpus.add(cpu);
            }
        }

        // 2. The queues: one per shard.
        int maxQueues = nic.channels() != null ? nic.channels().maxQueues()
                : Math.min(nic.rxQueues(), Math.max(nic.txQueues(), 1));
        if (maxQueues <= 0) {
            maxQueues = Math.max(1, nic.rxQueues());
        }
        int n = shardCpus.size();
        if (opts.maxShards() > 0 && opts.maxShards() < n) {
            n = opts.maxShards();
        }
        if (n > maxQueues) {
            warnings.add(shardCpus.size() + " cores available but " + nic.name() + " has at most " + maxQueues
                    + " queues: planning " + maxQueues + " shards");
            n = maxQueues;
        }
        List<CoreMap.Shard> shards = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            shards.add(new CoreMap.Shard(i, shardCpus.get(i), i));
        }
        boolean perQueueIrqs = !nic.irqs().isEmpty();
        CoreMap.Steering steering = perQueueIrqs ? CoreMap.Steering.RSS : CoreMap.Steering.RPS;

        List<Setting> settings = new ArrayList<>();
        String dev = nic.name();

        // 3. Channels and RSS. Shrinking: spread RSS over the first n queues first, so the kernel accepts the channel
        //    change even when the table was set by hand. Growing: add the channels first, then spread over them.
        List<Setting> channelSettings = new ArrayList<>();
        EthtoolParser.Channels ch = nic.channels();
        if (ch != null) {
            if (ch.usesCombined()) {
                channelSettings.add(new EthtoolSetting(dev, EthtoolSetting.Group.CHANNELS, "combined",
                        Integer.toString(n), "channels combined", "one queue per shard"));
            } else {
                if (ch.maxRx() > 0) {
                    channelSettings.add(new EthtoolSetting(dev, EthtoolSetting.Group.CHANNELS, "rx",
                            Integer.toString(n), "channels rx", "one receive queue per shard"));
                }
                if (ch.maxTx() > 0) {
                    channelSettings.add(new EthtoolSetting(dev, EthtoolSetting.Group.CHANNELS, "tx",
                            Integer.toString(n), "channels tx", "one transmit queue per shard"));
                }
            }
        }
        EthtoolParser.Rss rss = nic.rss();
        Setting rssSetting = null;
        if (rss != null) {
            rssSetting = new EthtoolSetting(dev, EthtoolSetting.Group.RSS, "indirection", "equal " + n,
                    "RSS indirection (" + rss.table().length + " entries)", "spread flows over the shards' queues");
        }
        boolean shrinking = ch != null && ch.currentQueues() >= n;
        if (rssSetting != null && shrinking) {
            settings.add(rssSetting);
        }
        settings.addAll(channelSettings);
        if (rssSetting != null && !shrinking) {
            settings.add(rssSetting);
        }

        // 4. Interrupts (or RPS) and XPS, per queue.
        for (CoreMap.Shard s : shards) {
            String cpu = Integer.toString(s.cpu());
            for (NicInfo.QueueIrq irq : nic.irqsOf(s.queue())) {
                settings.add(new FileSetting("/proc/irq/" + irq.irq() + "/smp_affinity_list",
                        FileSetting.Format.CPULIST, cpu, "IRQ " + irq.irq() + " (" + irq.name() + ")",
                        "queue " + s.queue() + " interrupts on shard " + s.shard() + "'s CPU"));
            }
        }
        if (!perQueueIrqs) {
            // Software devices (veth) hand every packet to RPS as if it came from rx-0 (seen on 6.x kernels), so a
            // per-queue mask would put every flow on one CPU. Every queue gets all shard CPUs instead: RPS spreads
            // flows over them by its flow hash, and the data plane's reuseport steering serves each connection on
            // the CPU RPS chose.
            int[] all = new int[shards.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = shards.get(i).cpu();
            }
            String mask = CpuList.formatMask(CpuList.of(all));
            for (CoreMap.Shard s : shards) {
                settings.add(new FileSetting("/sys/class/net/" + dev + "/queues/rx-" + s.queue() + "/rps_cpus",
                        FileSetting.Format.CPUMASK, mask, "rx-" + s.queue() + " rps_cpus",
                        "no queue IRQs: RPS spreads queue " + s.queue() + "'s flows over the shard CPUs"));
            }
        }
        for (CoreMap.Shard s : shards) {
            settings.add(new FileSetting("/sys/class/net/" + dev + "/queues/tx-" + s.queue() + "/xps_cpus",
                    FileSetting.Format.CPUMASK, CpuList.formatMask(CpuList.of(s.cpu())),
                    "tx-" + s.queue() + " xps_cpus", "shard " + s.shard() + " transmits on its own queue"));
        }

        // 5. Rings, coalescing, offloads.
        EthtoolParser.Rings rings = nic.rings();
        if (profile.ringTarget() > 0 && rings != null) {
            if (rings.maxRx() > 0) {
                settings.add(new EthtoolSetting(dev, EthtoolSetting.Group.RINGS, "rx",
                        Integer.toString(Math.min(profile.ringTarget(), rings.maxRx())), "ring rx",
                        "absorb bursts while a shard is busy"));
            }
            if (rings.maxTx() > 0) {
                settings.add(new EthtoolSetting(dev, EthtoolSetting.Group.RINGS, "tx",
                        Integer.toString(Math.min(profile.ringTarget(), rings.maxTx())), "ring tx",
                        "absorb bursts while a shard is busy"));
            }
        }
        for (Map.Entry<String, String> e : profile.coalesce().entrySet()) {
            if (nic.coalesce().containsKey(e.getKey())) {
                settings.add(new EthtoolSetting(dev, EthtoolSetting.Group.COALESCE, e.getKey(), e.getValue(),
                        "coalesce " + e.getKey(), "interrupt moderation for " + profile.driver()));
            } else {
                warnings.add(dev + ": driver does not report coalescing parameter " + e.getKey() + "; left alone");
            }
        }
        String[][] offloads = {
            {"gro", "on", "fewer, larger packets up the stack"},
            {"lro", "off", "LRO merges can break forwarding and GRO does it safely"},
            {"tso", "on", "segmentation on the NIC"},
        };
        for (String[] o : offloads) {
            EthtoolParser.Feature f = nic.features().get(EthtoolParser.featureLongName(o[0]));
            if (f == null) {
                continue;
            }
            if (f.fixed()) {
                if (f.on() != o[1].equals("on")) {
                    warnings.add(dev + ": " + o[0] + " is fixed " + (f.on() ? "on" : "off") + " by the driver");
                }
                continue;
            }
            settings.add(new EthtoolSetting(dev, EthtoolSetting.Group.FEATURE, o[0], o[1], "offload " + o[0],
                    o[2]));
        }

        // 6. Sysctls.
        if (opts.sysctls()) {
            for (Sysctl s : SYSCTLS) {
                String value = s.value();
                if (s.name().startsWith("net.core.busy_")) {
                    if (opts.busyPollMicros() <= 0) {
                        continue;
                    }
                    value = Integer.toString(opts.busyPollMicros());
                }
                settings.add(new FileSetting(s.path(), s.format(), value, "sysctl " + s.name(), s.why()));
            }
        }

        // 7. Warnings and the core map.
        if (inv.irqbalanceRunning() && perQueueIrqs) {
            warnings.add("irqbalance is running and will move the pinned IRQs: stop and disable it (systemctl disable"
                    + " --now irqbalance) or ban these IRQs with IRQBALANCE_BANNED_CPULIST/--banirq");
        }
        if (!perQueueIrqs && nic.hasDevice()) {
            warnings.add(dev + ": no per-queue interrupts found in /proc/interrupts; steering with RPS instead");
        }
        byte[] key = new byte[0];
        int[] table = new int[0];
        if (rss != null) {
            String function = rss.function();
            int size = rss.table().length;
            if (!function.isEmpty() && !function.equals("toeplitz")) {
                warnings.add(dev + " hashes with " + function + ", not Toeplitz: the core map carries no RSS table and"
                        + " the data plane cannot predict queues");
            } else if (rss.key().length < ToeplitzHash.MIN_KEY_BYTES) {
                warnings.add(dev + " shows no usable RSS key (" + rss.key().length + " bytes): the core map carries"
                        + " no RSS table");
            } else if ((size & (size - 1)) != 0) {
                warnings.add(dev + "'s indirection table has " + size + " entries, not a power of two: the core"
                        + " map carries no RSS table");
            } else {
                key = rss.key();
                table = new int[size];
                for (int i = 0; i < size; i++) {
                    table[i] = i % n;
                }
            }
        }
        CoreMap coreMap = new CoreMap(dev, nic.driver(), nic.numaNode(), steering, opts.smt(), shards, key, table);
        return new Plan(nic, profile, node, coreMap, List.copyOf(settings), List.copyOf(warnings));
    }
}
