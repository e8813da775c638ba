/**
 * Steering: every connection served on the core that receives its packets.
 *
 * <p>On a node tuned by nic-tuning each NIC receive queue interrupts one CPU, and one shard is pinned to that CPU.
 * This package makes the rest of the path agree with it:
 * <ul>
 *   <li>{@link io.sluice.dataplane.steering.CpuSteeringProgram}: the classic-BPF program a port's SO_REUSEPORT group
 *       runs ({@code SO_ATTACH_REUSEPORT_CBPF}) to pick the listener of the shard on the CPU processing the SYN;
 *       {@link io.sluice.dataplane.steering.KernelSteering} attaches it and reads {@code SO_INCOMING_CPU}.</li>
 *   <li>{@link io.sluice.dataplane.steering.Acceptor} and {@link io.sluice.dataplane.steering.HandoffRing}: where the
 *       kernel cannot do that, one acceptor thread computes the NIC's RSS hash of each new connection and hands it to
 *       the owning shard over a Disruptor ring.</li>
 *   <li>{@link io.sluice.dataplane.steering.RssPortChooser}: an upstream connection's local port chosen so that the
 *       NIC's hash of the replies lands on a queue its shard owns.</li>
 *   <li>{@link io.sluice.dataplane.steering.SteeringPlan}: reads the core map, chooses the CPUs and the mode at
 *       start; {@link io.sluice.dataplane.steering.SteeringStats}: the per-shard counters that measure it.</li>
 * </ul>
 *
 * <p>Threads: the plan runs on the starting thread; the acceptor owns its own thread; everything per connection runs
 * on the shard's own thread ({@code RssPortChooser}, {@code SteeringStats} writes, the ring's consumer side).
 *
 * <p>Nullness: arguments are non-null unless documented; "absent" results are -1 or documented nulls.
 */
package io.sluice.dataplane.steering;
