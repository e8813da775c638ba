package io.sluice.dataplane.ops;

import io.sluice.dataplane.config.OpsConfig;
import io.sluice.dataplane.proxy.CompiledTable;
import io.sluice.dataplane.proxy.DataPlane;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * Active health checks, one thread per node ({@code sluice-health}), not one per shard: each endpoint of every backend
 * whose policy has a check type is probed every {@code intervalMs} plus a random jitter of up to {@code jitterMs}
 * (so that nodes and endpoints do not probe in lock step). {@code unhealthyThreshold} consecutive failures mark it
 * unhealthy, {@code healthyThreshold} consecutive successes healthy again; the state is one volatile flag per endpoint
 * address ({@link EndpointHealth}) that every shard reads when it picks an endpoint. Endpoints start healthy.
 *
 * <p>Checks: {@code tcp} (connect), {@code http} (GET path, status within the expected range), {@code grpc} (the
 * standard {@code grpc.health.v1.Health/Check} over HTTP/2 without TLS, prior knowledge; {@link GrpcHealthProbe}).
 * Probes are blocking with {@code timeoutMs} each and run one after another; at most one probe per endpoint address
 * even if several backends share it. With many endpoints that time out, a round takes longer than the interval: the
 * state then changes later, never wrongly.
 */
public final class HealthChecker implements AutoCloseable {
    private final DataPlane dataPlane;
    private final HealthRegistry registry;
    private final Thread thread;
    private volatile boolean running = true;
    private CompiledTable seen;
    private final Map<String, Target> targets = new LinkedHashMap<>();
    private volatile long rounds;

    private record Target(EndpointHealth state, InetSocketAddress address, String hostHeader, OpsConfig.Health check) {
    }

    private HealthChecker(DataPlane dataPlane) {
        this.dataPlane = dataPlane;
        this.registry = dataPlane.ops().health;
        this.thread = new Thread(this::run, "sluice-health");
        this.thread.setDaemon(true);
    }

    /** Starts the checker if any backend may be checked (node default or a backend policy); else null. */
    public static HealthChecker start(DataPlane dp) {
        OpsConfig ops = dp.config().ops();
        boolean any = ops.health().enabled();
        for (OpsConfig.BackendPolicy p : ops.backendPolicies().values()) {
            any |= p.health().enabled();
        }
        if (!any) {
            return null;
        }
        HealthChecker c = new HealthChecker(dp);
        c.thread.start();
        return c;
    }

    public long rounds() {
        return rounds;
    }

    private void run() {
        while (running) {
            refreshTargets();
            long now = System.nanoTime();
            long nextDue = now + 100_000_000L;
            for (Target t : targets.values()) {
                if (!running) {
                    return;
                }
                EndpointHealth h = t.state;
                if (h.nextDueNanos - now <= 0) {
                    probe(t);
                    now = System.nanoTime();
                    long jitter = t.check.jitterMs() > 0 ? ThreadLocalRandom.current().nextLong(t.check.jitterMs() + 1) : 0;
                    h.nextDueNanos = now + (t.check.intervalMs() + jitter) * 1_000_000L;
                }
                if (h.nextDueNanos - nextDue < 0) {
                    nextDue = h.nextDueNanos;
                }
            }
            rounds++;
            long wait = nextDue - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
            }
        }
    }

    /** Rebuilds the endpoint list when the data plane has a new table (identity check: once per table). */
    private void refreshTargets() {
        CompiledTable t = dataPlane.current();
        if (t == seen) {
            return;
        }
        seen = t;
        OpsConfig ops = dataPlane.config().ops();
        Map<String, Target> next = new LinkedHashMap<>();
        for (CompiledTable.BackendSpec b : t.backends) {
            OpsConfig.Health check = ops.policyFor(b.name).health();
            if (!check.enabled()) {
                continue;
            }
            for (CompiledTable.EndpointSpec e : b.endpoints) {
                if (!next.containsKey(e.key)) {
                    Target old = targets.get(e.key);
                    Target nt = old != null && old.check.equals(check) ? old
                        : new Target(registry.get(e.key), e.address, e.key, check);
                    if (nt != old) {
                        nt.state.nextDueNanos = System.nanoTime(); // due now
                    }
                    next.put(e.key, nt);
                }
            }
        }
        // Endpoints no longer checked go back to healthy: nothing vouches against them any more.
        for (Map.Entry<String, Target> old : targets.entrySet()) {
            if (!next.containsKey(old.getKey())) {
                old.getValue().state.healthy = true;
                old.getValue().state.lastResult = "not checked";
            }
        }
        targets.clear();
        targets.putAll(next);
    }

    private void probe(Target t) {
        EndpointHealth h = t.state;
        String failure;
        try {
            failure = switch (t.check.type()) {
                case TCP -> tcp(t);
                case HTTP -> http(t);
                case GRPC -> GrpcHealthProbe.check(t.address, t.hostHeader, t.check.timeoutMs());
                case NONE -> null;
            };
        } catch (IOException | RuntimeException e) {
            failure = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        }
        h.checks++;
        OpsConfig.Health c = t.check;
        if (failure == null) {
            h.consecutiveFail = 0;
            h.lastResult = "ok";
            if (!h.healthy && ++h.consecutiveOk >= c.healthyThreshold()) {
                h.healthy = true;
                h.transitions++;
                h.lastTransitionEpochMillis = System.currentTimeMillis();
                System.out.println("sluice: endpoint " + h.key + " is healthy again");
            }
        } else {
            h.failures++;
            h.consecutiveOk = 0;
            h.lastResult = failure;
            if (h.healthy && ++h.consecutiveFail >= c.unhealthyThreshold()) {
                h.healthy = false;
                h.transitions++;
                h.lastTransitionEpochMillis = System.currentTimeMillis();
                System.out.println("sluice: endpoint " + h.key + " is unhealthy (" + failure + ")");
            }
        }
    }

    private static String tcp(Target t) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(t.address, t.check.timeoutMs());
        }
        return null;
    }

    private static String http(Target t) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(t.address, t.check.timeoutMs());
            s.setSoTimeout(t.check.timeoutMs());
            OutputStream out = s.getOutputStream();
            out.write(("GET " + t.check.path() + " HTTP/1.1\r\nHost: " + t.hostHeader
                + "\r\nUser-Agent: sluice-health\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] line = new byte[12];
            int n = in.readNBytes(line, 0, 12);
            if (n < 12 || line[0] != 'H' || line[8] != ' ') {
                return "no HTTP status line";
            }
            int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
            if (status < t.check.expectedMin() || status > t.check.expectedMax()) {
                return "status " + status;
            }
            return null;
        }
    }

    /** For the status page: every checked endpoint and its state. */
    public List<EndpointHealth> checked() {
        List<EndpointHealth> out = new ArrayList<>();
        for (EndpointHealth h : registry.all().values()) {
            if (!"not checked".equals(h.lastResult)) {
                out.add(h);
            }
        }
        return out;
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
