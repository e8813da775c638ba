package io.sluice.agent;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPathBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRuleBuilder;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.RoutePlan;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the compiler over a synthetic cluster on a background thread while the agent loads its real objects, so that
 * the JIT has compiled the compiler's code before the first real compile.
 *
 * <p>Why: in a fresh JVM the first compile of a large cluster (10,000 Ingresses) runs mostly in the interpreter while
 * the JIT compiles the same methods on the other core; on a 2-core node it took several times a warm compile. The
 * agent has idle or parallel time before its first compile — informers listing a cluster, a large manifests directory
 * being parsed — and this spends it. The objects have the shapes that matter (exact and wildcard hosts; Exact, Prefix
 * and ImplementationSpecific paths; ports by number and by name; ready and terminating endpoints; a conflict and an
 * unknown Service, so that the problem paths are compiled too) but no TLS Secrets.
 *
 * <p>Bounded: {@value #ROUNDS} compiles of {@value #INGRESSES} Ingresses at most, and {@link #stop()} (the agent calls
 * it just before its first compile) ends it after the current compile: a small cluster is never kept waiting for it.
 * It has its own {@link ClusterState} and {@link IngressCompiler}; nothing is shared with the agent's.
 */
public final class CompilerWarmup {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");
    static final int INGRESSES = 400;
    static final int ROUNDS = 25;

    private final IngressCompiler.Options options;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile int rounds;

    private CompilerWarmup(IngressCompiler.Options options) {
        this.options = options;
        this.thread = Thread.ofPlatform().daemon().name("agent-warmup").unstarted(this::run);
    }

    /**
     * Starts warming up on a daemon thread; returns null (no warm-up) when the system property
     * {@code sluice.agent.warmup} is {@code false}.
     */
    public static CompilerWarmup start(IngressCompiler.Options options) {
        if ("false".equals(System.getProperty("sluice.agent.warmup"))) {
            return null;
        }
        CompilerWarmup w = new CompilerWarmup(options);
        w.thread.start();
        return w;
    }

    private void run() {
        long t0 = System.nanoTime();
        try {
            ClusterState state = synthetic(INGRESSES);
            for (int i = 0; i < ROUNDS && !stopped; i++) {
                IngressCompiler compiler = new IngressCompiler(options); // a new one: the endpoint phase works too
                RoutePlan plan = compiler.compileRoutes(state);
                if (compiler.resolveEndpoints(plan, state, i + 1).hosts().isEmpty()) {
                    throw new IllegalStateException("the warm-up cluster compiled to nothing");
                }
                rounds = i + 1;
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "compiler warm-up failed (harmless)", e);
        }
        LOG.log(Level.DEBUG, "compiler warm-up: " + rounds + " rounds in "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms" + (stopped ? " (stopped)" : ""));
    }

    /** Ends the warm-up after its current compile, waiting for that up to 100 ms. Returns the rounds done. */
    public int stop() {
        stopped = true;
        try {
            thread.join(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return rounds;
    }

    /** Compiles done so far. */
    public int rounds() {
        return rounds;
    }

    /** The synthetic cluster: {@code ingresses} Ingresses over 20 namespaces. */
    static ClusterState synthetic(int ingresses) {
        ClusterState s = new ClusterState();
        String controller = IngressCompiler.CONTROLLER;
        s.upsert(new IngressClassBuilder().withNewMetadata().withName("warmup")
            .addToAnnotations(IngressCompiler.DEFAULT_CLASS_ANNOTATION, "true").endMetadata()
            .withNewSpec().withController(controller).endSpec().build());
        for (int n = 0; n < 20; n++) {
            String ns = "warmup-" + n;
            s.upsert(service(ns, "api"));
            s.upsert(slice(ns, "api-1", "api", n, 0));
        }
        for (int i = 0; i < ingresses; i++) {
            String ns = "warmup-" + (i % 20);
            String app = "app-" + i;
            s.upsert(service(ns, app));
            s.upsert(slice(ns, app + "-1", app, i, i % 7 == 0 ? 1 : 0));
            String host = "h" + i + ".warmup.example";
            List<IngressRule> rules = new ArrayList<>(List.of(rule(host, "/", "Prefix", app, 80, null),
                rule(host, "/api/v" + (i % 5), i % 2 == 0 ? "Exact" : "Prefix", "api", 0, "http"),
                rule(host, "/static/*", "ImplementationSpecific", app, 0, "http")));
            if (i % 50 == 0) {
                rules.add(rule("*.w" + i + ".warmup.example", "/", "Prefix", app, 80, null));
            }
            if (i % 97 == 0) { // a conflict with the Ingress before, and a Service that does not exist
                rules.add(rule("h" + Math.max(0, i - 1) + ".warmup.example", "/", "Prefix", "missing", 80, null));
            }
            s.upsert(new IngressBuilder().withNewMetadata().withNamespace(ns).withName(app)
                .withCreationTimestamp(String.format("2024-01-01T00:%02d:%02dZ", (i / 60) % 60, i % 60))
                .endMetadata().withNewSpec().withIngressClassName(i % 3 == 0 ? "warmup" : null).withRules(rules)
                .endSpec().build());
        }
        return s;
    }

    private static io.fabric8.kubernetes.api.model.Service service(String ns, String name) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
            .withNewSpec().withType("ClusterIP").addNewPort().withName("http").withPort(80).withProtocol("TCP")
            .withTargetPort(new IntOrString(8080)).endPort().endSpec().build();
    }

    private static io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice slice(String ns, String name,
                                                                                     String service, int seed,
                                                                                     int terminating) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name)
            .addToLabels(IngressCompiler.SERVICE_NAME_LABEL, service).endMetadata().withAddressType("IPv4")
            .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort();
        for (int k = 0; k < 3; k++) {
            boolean term = k < terminating;
            b.addToEndpoints(new EndpointBuilder().withAddresses("10.9." + (seed >> 8 & 255) + "." + ((seed + k * 37)
                & 255)).withNewConditions().withReady(!term).withServing(true).withTerminating(term)
                .endConditions().build());
        }
        return b.build();
    }

    private static IngressRule rule(String host, String path,
                                                                                   String type, String service,
                                                                                   int portNumber, String portName) {
        HTTPIngressPathBuilder p = new HTTPIngressPathBuilder().withPath(path).withPathType(type).withNewBackend()
            .withNewService().withName(service).withNewPort().withNumber(portNumber > 0 ? portNumber : null)
            .withName(portName).endPort().endService().endBackend();
        return new IngressRuleBuilder().withHost(host).withNewHttp().addToPaths(p.build()).endHttp().build();
    }
}
