package io.sluice.nictuning;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Online CPUs with their package, core, NUMA node and SMT siblings, and the isolated set, read from
 * {@code /sys/devices/system/cpu} and {@code /sys/devices/system/node}.
 */
final class CpuTopology {
    /** One logical CPU. {@code siblings} are the logical CPUs of its physical core, itself included. */
    record Cpu(int id, int packageId, int coreId, int node, BitSet siblings) {
        /** The lowest-numbered logical CPU of this core: the one a shard uses when SMT siblings are left out. */
        boolean isPrimaryThread() {
            return siblings.nextSetBit(0) == id || siblings.isEmpty();
        }
    }

    private final Map<Integer, Cpu> cpus;
    private final BitSet isolated;

    CpuTopology(List<Cpu> cpus, BitSet isolated) {
        Map<Integer, Cpu> byId = new TreeMap<>();
        for (Cpu c : cpus) {
            byId.put(c.id(), c);
        }
        this.cpus = byId;
        this.isolated = (BitSet) isolated.clone();
    }

    static CpuTopology read(HostFs fs) {
        String online = fs.read("/sys/devices/system/cpu/online");
        BitSet onlineSet;
        if (online != null) {
            onlineSet = CpuList.parseList(online);
        } else {
            onlineSet = new BitSet();
            for (String name : fs.list("/sys/devices/system/cpu")) {
                if (name.matches("cpu\\d+")) {
                    onlineSet.set(Integer.parseInt(name.substring(3)));
                }
            }
        }
        Map<Integer, Integer> nodeOf = new LinkedHashMap<>();
        for (String name : fs.list("/sys/devices/system/node")) {
            if (name.matches("node\\d+")) {
                String list = fs.read("/sys/devices/system/node/" + name + "/cpulist");
                if (list != null) {
                    int node = Integer.parseInt(name.substring(4));
                    CpuList.parseList(list).stream().forEach(cpu -> nodeOf.put(cpu, node));
                }
            }
        }
        List<Cpu> list = new ArrayList<>();
        for (int id = onlineSet.nextSetBit(0); id >= 0; id = onlineSet.nextSetBit(id + 1)) {
            String base = "/sys/devices/system/cpu/cpu" + id + "/topology/";
            int pkg = intOr(fs.read(base + "physical_package_id"), 0);
            int core = intOr(fs.read(base + "core_id"), id);
            String sib = fs.read(base + "thread_siblings_list");
            if (sib == null) {
                sib = fs.read(base + "core_cpus_list");
            }
            BitSet siblings = sib == null ? CpuList.of(id) : CpuList.parseList(sib);
            list.add(new Cpu(id, pkg, core, nodeOf.getOrDefault(id, 0), siblings));
        }
        String iso = fs.read("/sys/devices/system/cpu/isolated");
        return new CpuTopology(list, iso == null ? new BitSet() : CpuList.parseList(iso));
    }

    private static int intOr(String text, int fallback) {
        if (text == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    List<Cpu> cpus() {
        return List.copyOf(cpus.values());
    }

    Cpu cpu(int id) {
        return cpus.get(id);
    }

    BitSet online() {
        BitSet set = new BitSet();
        cpus.keySet().forEach(set::set);
        return set;
    }

    BitSet isolated() {
        return (BitSet) isolated.clone();
    }

    BitSet cpusOfNode(int node) {
        BitSet set = new BitSet();
        for (Cpu c : cpus.values()) {
            if (c.node() == node) {
                set.set(c.id());
            }
        }
        return set;
    }

    List<Integer> nodes() {
        return cpus.values().stream().map(Cpu::node).distinct().sorted().toList();
    }

    int packages() {
        return (int) cpus.values().stream().mapToInt(Cpu::packageId).distinct().count();
    }

    /** Physical cores: distinct sibling sets. */
    int physicalCores() {
        return (int) cpus.values().stream().map(c -> CpuList.formatList(c.siblings())).distinct().count();
    }

    boolean smt() {
        return cpus.values().stream().anyMatch(c -> c.siblings().cardinality() > 1);
    }
}
