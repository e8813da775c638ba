package io.sluice.nictuning;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ring sizes and interrupt coalescing per driver, for a proxy node: large rings absorb bursts while a shard is busy
 * (a dropped packet costs a retransmit timeout, a deeper ring costs only memory), and coalescing that adapts to load
 * keeps interrupts rare under load without adding latency when idle.
 *
 * @param driver driver name
 * @param ringTarget wanted rx/tx ring size, capped at the NIC's maximum; 0 to leave the rings alone
 * @param coalesce {@code ethtool -C} parameters to set
 * @param note what the profile does, for the plan output
 */
record DriverProfile(String driver, int ringTarget, Map<String, String> coalesce, String note) {

    /** The profile for a driver, or {@code null} if nic-tuning does not know it. */
    static DriverProfile of(String driver) {
        return switch (driver) {
            case "mlx5_core" -> new DriverProfile(driver, 4096, adaptive(),
                    "ConnectX: rings 4096, adaptive moderation (DIM) on both directions");
            case "ice" -> new DriverProfile(driver, 4096, adaptive(),
                    "E810: rings 4096, adaptive interrupt moderation on both directions");
            case "i40e" -> new DriverProfile(driver, 4096, adaptive(),
                    "X710/XL710: rings 4096, adaptive interrupt moderation on both directions");
            case "ixgbe" -> new DriverProfile(driver, 4096, ordered("rx-usecs", "1"),
                    "82599/X5x0: rings 4096, rx-usecs 1 (ixgbe's value for dynamic interrupt throttling)");
            case "ena" -> new DriverProfile(driver, 4096, ordered("adaptive-rx", "on"),
                    "AWS ENA: rx ring up to 4096 (tx ring is capped by LLQ), adaptive rx moderation");
            case "virtio_net" -> new DriverProfile(driver, 0, Map.of(),
                    "virtio: ring size and moderation belong to the hypervisor; queues, IRQs, XPS, sysctls only");
            case "veth" -> new DriverProfile(driver, 0, Map.of(),
                    "veth: no IRQs or rings; RPS steers each queue to its shard's CPU");
            default -> null;
        };
    }

    /** The profile used for an unknown driver when the operator allows it: no rings or coalescing. */
    static DriverProfile generic(String driver) {
        return new DriverProfile(driver, 0, Map.of(),
                "unknown driver: queues, IRQ affinity, RSS, XPS and sysctls only; rings and coalescing untouched");
    }

    private static Map<String, String> adaptive() {
        return ordered("adaptive-rx", "on", "adaptive-tx", "on");
    }

    private static Map<String, String> ordered(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }
}
