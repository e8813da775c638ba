/**
 * nic-tuning: inspect a node's NICs and CPU topology, plan one shard per core with one NIC queue each, apply the plan
 * (IRQ affinity, RSS indirection, XPS/RPS, rings, coalescing, offloads, sysctls) with a record for revert, and write
 * the {@link io.sluice.nictuning.CoreMap} the data plane reads. The command line is
 * {@link io.sluice.nictuning.NicTuningMain}.
 *
 * <p>All host access goes through {@code HostFs} (sysfs/procfs under a root directory) and {@code Ethtool} (the
 * binary, or captured output), so everything runs on fixture trees in tests.
 *
 * <p>Nullness: parameters and return values are non-null unless documented otherwise ("or {@code null}").
 */
package io.sluice.nictuning;
