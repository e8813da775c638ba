package io.sluice.dataplane.control;

import io.prometheus.client.Collector;

import java.util.List;

/**
 * Metrics of the agent link (with {@code --routes}): tables applied and rejected, and how long ago the agent last wrote
 * its heartbeat into the shared-memory file. Reads only what {@link RouteTableFollower} publishes (volatiles); the
 * mapped file itself is touched by the follower's thread alone.
 */
public final class FollowerCollector extends Collector {
    private final RouteTableFollower follower;

    public FollowerCollector(RouteTableFollower follower) {
        this.follower = follower;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        long hb = follower.writerHeartbeatMillis();
        return List.of(
            family("sluice_agent_tables_applied", Type.COUNTER, "Route tables from the agent's file applied.",
                "sluice_agent_tables_applied_total", follower.applied()),
            family("sluice_agent_tables_rejected", Type.COUNTER,
                "Route tables from the agent's file refused (checksum, decoding); the last good one keeps serving.",
                "sluice_agent_tables_rejected_total", follower.rejectedTables()),
            family("sluice_agent_heartbeat_age_seconds", Type.GAUGE,
                "Seconds since the agent last wrote its heartbeat into the route file (-1: not attached).",
                "sluice_agent_heartbeat_age_seconds", hb == 0 ? -1 : (System.currentTimeMillis() - hb) / 1e3));
    }

    private static MetricFamilySamples family(String name, Type type, String help, String sample, double v) {
        return new MetricFamilySamples(name, type, help,
            List.of(new MetricFamilySamples.Sample(sample, List.of(), List.of(), v)));
    }
}
