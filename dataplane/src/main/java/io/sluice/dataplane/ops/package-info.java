/**
 * Operating the data plane (issue 8): the admin port, active health checks, the access log and node-level state.
 *
 * <p>Threads: {@link io.sluice.dataplane.ops.AdminServer} runs on {@code sluice-admin},
 * {@link io.sluice.dataplane.ops.HealthChecker} on {@code sluice-health}, {@link io.sluice.dataplane.ops.AccessLog}'s
 * writer on {@code sluice-accesslog}. None of them touches a shard's confined state: they read what shards publish
 * (volatile fields, racily read counters) and shards read what they publish ({@link io.sluice.dataplane.ops.EndpointHealth}'s
 * volatile flag); access-log records travel from shards through one Disruptor ring per shard.
 *
 * <p>Nullness: arguments and results are non-null unless documented (e.g. a disabled access log is null).
 */
package io.sluice.dataplane.ops;
