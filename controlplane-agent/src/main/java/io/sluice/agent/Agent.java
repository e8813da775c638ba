package io.sluice.agent;

import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.RoutePlan;
import io.sluice.routetable.Backend;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The compile loop: waits for the {@link ClusterState} to change, compiles, and publishes the table to the route
 * file. It runs on one thread of its own; sources only touch the state.
 *
 * <p>When only EndpointSlices changed since the last compile, only the endpoint phase runs over the last
 * {@link RoutePlan}; the published table then shares the plan's host list and the writer copies the ROUTES section
 * as bytes. A compile whose table equals the last one publishes nothing.
 */
public final class Agent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");
    private static final long HEARTBEAT_MS = 1000;
    private static final long NOT_READY_POLL_MS = 50;

    private final ClusterState state;
    private final IngressCompiler compiler;
    private final RouteTableFileWriter writer;
    private final ProblemReporter reporter;
    private final Consumer<List<ObjectRef>> statusPublisher;
    private final BooleanSupplier ready;
    private final long debounceMs;

    private RoutePlan plan;
    private RouteTable last;
    private long seenRoutes = -1;
    private long seenEndpoints = -1;
    private long generation;
    private volatile boolean closed;
    private long publications;
    private long lastCompileNanos;
    private CompilerWarmup warmup;

    /**
     * @param writer          where tables go; null to compile only
     * @param statusPublisher told the claimed Ingresses after each route compile (sets their status); may be null
     * @param ready           false until the source has its initial state (informers synced)
     * @param debounceMs      after a change, wait this long for more before compiling (coalesces bursts)
     */
    public Agent(ClusterState state, IngressCompiler compiler, RouteTableFileWriter writer, ProblemReporter reporter,
                 Consumer<List<ObjectRef>> statusPublisher, BooleanSupplier ready, long debounceMs) {
        this.state = Objects.requireNonNull(state, "state");
        this.compiler = Objects.requireNonNull(compiler, "compiler");
        this.writer = writer;
        this.reporter = Objects.requireNonNull(reporter, "reporter");
        this.statusPublisher = statusPublisher;
        this.ready = ready == null ? () -> true : ready;
        this.debounceMs = debounceMs;
        this.generation = writer == null ? 0 : writer.lastPublishedGeneration();
    }

    /** A warm-up running while the source loads; stopped just before the first compile. Returns this agent. */
    public Agent stopBeforeFirstCompile(CompilerWarmup w) {
        this.warmup = w;
        return this;
    }

    /**
     * Compiles and publishes if anything changed since the last step. Returns the published table, or null when
     * nothing was published (not ready, no change, or a table equal to the last).
     */
    public RouteTable step() throws IOException {
        if (!ready.getAsBoolean()) {
            return null;
        }
        if (warmup != null) {
            int rounds = warmup.stop();
            LOG.log(Level.DEBUG, "compiler warm-up stopped after " + rounds + " rounds");
            warmup = null;
        }
        long t0 = System.nanoTime();
        Compiled c = state.readConsistently(this::compileIfChanged);
        if (c == null) {
            return null;
        }
        long routes = c.routes();
        long endpoints = c.endpoints();
        boolean routesChanged = c.routesChanged();
        RouteTable table = c.table();
        lastCompileNanos = System.nanoTime() - t0;
        if (routesChanged) {
            List<Problem> problems = new ArrayList<>(c.sourceProblems());
            problems.addAll(plan.problems());
            reporter.report(problems);
            if (statusPublisher != null) {
                statusPublisher.accept(plan.claimedIngresses());
            }
        }
        if (last != null && sameContent(last, table)) {
            seenRoutes = routes;
            seenEndpoints = endpoints;
            return null;
        }
        if (writer != null) {
            writer.publish(table); // on failure the revisions stay unseen: the loop tries again
        }
        seenRoutes = routes;
        seenEndpoints = endpoints;
        generation = table.generation();
        last = table;
        publications++;
        if (LOG.isLoggable(Level.INFO)) {
            int endpointCount = 0;
            for (Backend b : table.backends()) {
                endpointCount += b.endpoints().size();
            }
            LOG.log(Level.INFO, String.format("published generation %d (%s): %d hosts, %d paths, %d backends, "
                    + "%d endpoints, %d certificates, %d L4 ports, %d problems; compiled in %.1f ms%s",
                table.generation(), routesChanged ? "routes" : "endpoints only", table.hosts().size(),
                plan.pathCount(), table.backends().size(), endpointCount, table.tls().size(), table.l4().size(),
                reporter.current().size(), lastCompileNanos / 1e6,
                writer == null ? "" : ", image " + writer.lastImageLength() + " bytes"));
        }
        return table;
    }

    /** What one compile saw and produced. */
    private record Compiled(RouteTable table, boolean routesChanged, long routes, long endpoints,
                            List<Problem> sourceProblems) {
    }

    /** Under {@link ClusterState#readConsistently}: compiles if either revision moved since the last step. */
    private Compiled compileIfChanged() {
        long routes = state.routesRevision();
        long endpoints = state.endpointsRevision();
        if (plan != null && routes == seenRoutes && endpoints == seenEndpoints) {
            return null;
        }
        boolean routesChanged = plan == null || routes != seenRoutes;
        if (routesChanged) {
            plan = compiler.compileRoutes(state);
        }
        RouteTable table = compiler.resolveEndpoints(plan, state, generation + 1);
        return new Compiled(table, routesChanged, routes, endpoints, state.sourceProblems());
    }

    private static boolean sameContent(RouteTable a, RouteTable b) {
        return a.defaultBackend() == b.defaultBackend() && a.backends().equals(b.backends())
            && (a.hosts() == b.hosts() || a.hosts().equals(b.hosts())) && a.tls().equals(b.tls())
            && a.l4().equals(b.l4());
    }

    /** Runs the loop until {@link #close()}; call on a dedicated thread. */
    public void run() {
        while (!closed) {
            try {
                if (!ready.getAsBoolean()) {
                    Thread.sleep(NOT_READY_POLL_MS);
                    continue;
                }
                boolean changed = state.awaitChange(seenRoutes, seenEndpoints, HEARTBEAT_MS);
                if (closed) {
                    break;
                }
                if (changed && debounceMs > 0) {
                    Thread.sleep(debounceMs);
                }
                step();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, "compile or publish failed; the last published table stays in force", e);
                sleepQuietly(500);
            }
            if (writer != null && !closed) {
                writer.heartbeat();
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The last published (or, without a writer, compiled) table. */
    public RouteTable lastTable() {
        return last;
    }

    public RoutePlan lastPlan() {
        return plan;
    }

    public long publications() {
        return publications;
    }

    public ProblemReporter reporter() {
        return reporter;
    }

    @Override
    public void close() {
        closed = true;
        state.touch(); // wake the loop
    }
}
