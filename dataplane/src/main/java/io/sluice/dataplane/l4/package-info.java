/**
 * L4 (TCP and UDP) load balancing on the shards (issue 6).
 *
 * <p>{@link io.sluice.dataplane.l4.L4Table} is the compiled, immutable form of a route table's L4 services (built
 * once per table on the publishing thread, shared by every shard): per service its resolved endpoints and its
 * {@link io.sluice.dataplane.l4.Maglev} lookup table. {@link io.sluice.dataplane.l4.L4Shard} is one shard's L4 state,
 * touched only by the shard's thread: its SO_REUSEPORT listeners (TCP server sockets, UDP sockets), its TCP
 * connections ({@link io.sluice.dataplane.l4.TcpFlow}), its UDP flow tables ({@link io.sluice.dataplane.l4.UdpService})
 * and its ClientIP affinity entries. The shard calls {@code install} when a table arrives and {@code sweep} every
 * 100 ms; nothing else crosses into this package.
 */
package io.sluice.dataplane.l4;
