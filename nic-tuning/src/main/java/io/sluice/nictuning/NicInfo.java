package io.sluice.nictuning;

import java.util.List;
import java.util.Map;

/**
 * What {@code inspect} found about one network interface. Parts that the device or driver does not expose are
 * {@code null} (or empty), with the reason in {@link #notes()}.
 *
 * @param name interface name
 * @param driver kernel driver ({@code mlx5_core}, {@code ice}, ...), {@code "unknown"} if none could be found
 * @param busInfo PCI address, or "" if none
 * @param hasDevice whether a device (PCI function, virtio device) backs it, as opposed to veth, bridges, tunnels
 * @param numaNode the device's NUMA node, -1 if the kernel does not know it
 * @param rxQueues receive queues in {@code /sys/class/net/NAME/queues}
 * @param txQueues transmit queues in {@code /sys/class/net/NAME/queues}
 * @param channels {@code ethtool -l}, or null
 * @param rings {@code ethtool -g}, or null
 * @param coalesce {@code ethtool -c} as parameter name to value; empty if unsupported
 * @param rss {@code ethtool -x}, or null when the device has no RSS
 * @param features {@code ethtool -k}; empty if unsupported
 * @param irqs the interrupts of the device's queues, by queue
 * @param otherIrqs the device's other interrupts (control, async events)
 * @param notes what could not be read, and why
 */
record NicInfo(String name, String driver, String busInfo, boolean hasDevice, int numaNode, int rxQueues, int txQueues,
        EthtoolParser.Channels channels, EthtoolParser.Rings rings, Map<String, String> coalesce,
        EthtoolParser.Rss rss, Map<String, EthtoolParser.Feature> features, List<QueueIrq> irqs,
        List<QueueIrq> otherIrqs, List<String> notes) {

    /**
     * One interrupt of a queue.
     *
     * @param queue queue index (-1 for a device interrupt that serves no queue)
     * @param irq interrupt number
     * @param name its name in {@code /proc/interrupts}
     * @param affinity its {@code smp_affinity_list}, "" if unreadable
     */
    record QueueIrq(int queue, int irq, String name, String affinity) {
    }

    /** The interrupts of one queue. */
    List<QueueIrq> irqsOf(int queue) {
        return irqs.stream().filter(q -> q.queue() == queue).toList();
    }
}
