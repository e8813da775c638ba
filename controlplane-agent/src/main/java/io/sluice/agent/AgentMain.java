package io.sluice.agent;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.RoutePlan;
import io.sluice.agent.source.KubernetesSource;
import io.sluice.agent.source.ManifestsSource;
import io.sluice.routetable.Backend;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileDescriptor;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * The agent's command line ({@code bin/sluice agent ...}).
 *
 * <pre>
 * agent --manifests DIR [--routes FILE] [--once]       a directory of manifests, watched
 * agent --kubeconfig FILE [--namespaces a,b] [...]      a cluster through a kubeconfig
 * agent [--in-cluster] [--namespaces a,b] [...]         a cluster from inside a pod (service account)
 * agent validate DIR                                    check manifests offline; exit 1 if any problem
 * </pre>
 */
public final class AgentMain {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");
    /** Counted down when main has closed everything (the route writer marks the file WRITER_CLOSED). */
    private static final CountDownLatch EXITED = new CountDownLatch(1);

    static final String USAGE = """
        usage:
          agent --manifests DIR [options]          serve Ingresses from a directory of manifests (watched)
          agent --kubeconfig FILE [options]        serve Ingresses from a cluster, through a kubeconfig
          agent [--in-cluster] [options]           serve Ingresses from the cluster this pod runs in
          agent validate DIR                       check manifests offline: print each problem, exit 1 if any

        options:
          --routes FILE                  shared route file (default %s), created mode 0600
          --namespaces a,b               watch only these namespaces (default: all)
          --controller NAME              IngressClass spec.controller to serve (default %s)
          --ingress-class NAME[,NAME]    kubernetes.io/ingress.class annotation values to serve (default sluice)
          --watch-ingress-without-class  also serve Ingresses with no class when no default IngressClass is ours
          --status-address A[,B]         addresses for Ingress and L4 Service status.loadBalancer.ingress
          --publish-node NAME            use this node's addresses for Ingress status (default: $NODE_NAME)
          --debounce-ms N                coalesce changes arriving within N ms (default 5; manifests: quiet
                                         period before a reload, default 10, at most 100 after the first change)
          --once                         (manifests) compile and publish once, then exit
        """;

    private AgentMain() {
    }

    public static void main(String[] args) {
        configureLogging();
        int code;
        try {
            code = run(args, System.out, System.err);
        } catch (UsageException e) {
            System.err.println("agent: " + e.getMessage());
            System.err.print(usage());
            code = 2;
        } catch (Exception e) {
            System.err.println("agent: " + e);
            LOG.log(Level.DEBUG, "failed", e);
            code = 1;
        } finally {
            EXITED.countDown();
        }
        if (code != Integer.MIN_VALUE) {
            System.exit(code);
        }
    }

    static String usage() {
        return String.format(USAGE, RouteTableFileDescriptor.defaultPath(), IngressCompiler.CONTROLLER);
    }

    /** One line per record unless the user configured java.util.logging. */
    private static void configureLogging() {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format",
                "%1$tF %1$tT.%1$tL %4$-7s %5$s%6$s%n");
        }
    }

    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String m) {
            super(m);
        }
    }

    /** Parsed options. */
    record Options(String manifests, String kubeconfig, boolean inCluster, Path routes, Set<String> namespaces,
                   IngressCompiler.Options compiler, List<String> statusAddresses, String publishNode,
                   Long debounceMs, boolean once) {
    }

    static Options parse(List<String> args) throws UsageException {
        String manifests = null;
        String kubeconfig = null;
        boolean inCluster = false;
        Path routes = RouteTableFileDescriptor.defaultPath();
        Set<String> namespaces = Set.of();
        String controller = IngressCompiler.CONTROLLER;
        Set<String> classes = Set.of("sluice");
        boolean withoutClass = false;
        List<String> status = List.of();
        String node = System.getenv("NODE_NAME");
        Long debounce = null;
        boolean once = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String v = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--manifests" -> manifests = v != null ? v : value(args, ++i, a);
                case "--kubeconfig" -> kubeconfig = v != null ? v : value(args, ++i, a);
                case "--in-cluster" -> inCluster = true;
                case "--routes" -> routes = Path.of(v != null ? v : value(args, ++i, a));
                case "--namespaces" -> namespaces = csv(v != null ? v : value(args, ++i, a));
                case "--controller" -> controller = v != null ? v : value(args, ++i, a);
                case "--ingress-class" -> classes = csv(v != null ? v : value(args, ++i, a));
                case "--watch-ingress-without-class" -> withoutClass = true;
                case "--status-address" -> status = List.copyOf(csv(v != null ? v : value(args, ++i, a)));
                case "--publish-node" -> node = v != null ? v : value(args, ++i, a);
                case "--debounce-ms" -> {
                    try {
                        debounce = Long.parseLong(v != null ? v : value(args, ++i, a));
                    } catch (NumberFormatException e) {
                        throw new UsageException("--debounce-ms takes a number of milliseconds");
                    }
                }
                case "--once" -> once = true;
                default -> throw new UsageException("unknown argument '" + args.get(i) + "'");
            }
        }
        int sources = (manifests != null ? 1 : 0) + (kubeconfig != null ? 1 : 0) + (inCluster ? 1 : 0);
        if (sources > 1) {
            throw new UsageException("choose one of --manifests, --kubeconfig and --in-cluster");
        }
        if (once && manifests == null) {
            throw new UsageException("--once goes with --manifests");
        }
        return new Options(manifests, kubeconfig, inCluster || sources == 0, routes, namespaces,
            new IngressCompiler.Options(controller, classes, withoutClass), status, node, debounce, once);
    }

    private static String value(List<String> args, int i, String name) throws UsageException {
        if (i >= args.size() || args.get(i).startsWith("--")) {
            throw new UsageException(name + " needs a value");
        }
        return args.get(i);
    }

    private static Set<String> csv(String s) {
        Set<String> out = new LinkedHashSet<>();
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return Set.copyOf(out);
    }

    /**
     * Runs a command. Returns the exit code, or {@link Integer#MIN_VALUE} when the agent was stopped by a signal
     * (the JVM is exiting already).
     */
    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        List<String> args = new ArrayList<>(Arrays.asList(argv));
        if (!args.isEmpty() && args.get(0).equals("agent")) {
            args.remove(0);
        }
        if (args.contains("--help") || args.contains("-h") || (!args.isEmpty() && args.get(0).equals("help"))) {
            out.print(usage());
            return 0;
        }
        if (!args.isEmpty() && args.get(0).equals("validate")) {
            if (args.size() != 2) {
                throw new UsageException("validate takes one directory (or file)");
            }
            return validate(Path.of(args.get(1)), out);
        }
        Options o = parse(args);
        if (o.manifests() != null) {
            return runManifests(o);
        }
        return runCluster(o);
    }

    /** {@code agent validate DIR}: every problem with its object and location; exit 1 if any. */
    static int validate(Path dir, PrintStream out) throws IOException {
        if (!Files.exists(dir)) {
            out.println(dir + ": does not exist");
            return 1;
        }
        ClusterState state = new ClusterState();
        ManifestsSource source = new ManifestsSource(dir, state, 0);
        ManifestsSource.Snapshot snap = source.reload();
        RoutePlan plan = new IngressCompiler().compileRoutes(state);
        List<Problem> problems = new ArrayList<>(snap.problems());
        problems.addAll(plan.problems());
        Map<ObjectRef, String> where = snap.locations();
        for (Problem p : problems) {
            String loc = "File".equals(p.object().kind()) ? dir.resolve(p.object().name()).toString()
                : where.containsKey(p.object()) ? dir.resolve(where.get(p.object())).toString() : dir.toString();
            out.println(loc + ": " + p);
        }
        RouteTable table = new IngressCompiler().resolveEndpoints(plan, state, 1);
        int endpoints = 0;
        for (Backend b : table.backends()) {
            endpoints += b.endpoints().size();
        }
        out.printf("%s: %d files, %d objects, %d Ingresses served; %d hosts, %d paths, %d backends, %d endpoints, "
                + "%d certificates; %d problem%s%n", dir, snap.files(), snap.objects().size(),
            plan.claimedIngresses().size(), table.hosts().size(), plan.pathCount(), table.backends().size(), endpoints,
            table.tls().size(), problems.size(), problems.size() == 1 ? "" : "s");
        return problems.isEmpty() ? 0 : 1;
    }

    private static int runManifests(Options o) throws Exception {
        Path dir = Path.of(o.manifests());
        ClusterState state = new ClusterState();
        long debounce = o.debounceMs() != null ? o.debounceMs() : ManifestsSource.DEFAULT_DEBOUNCE_MS;
        try (RouteTableFileWriter writer = RouteTableFileWriter.open(o.routes());
             ManifestsSource source = new ManifestsSource(dir, state, debounce)) {
            LOG.log(Level.INFO, "serving manifests from " + dir.toAbsolutePath() + " into " + writer.path()
                + " (continuing after generation " + writer.lastPublishedGeneration() + ")");
            CompilerWarmup warmup = o.once() ? null : CompilerWarmup.start(o.compiler()); // while the files parse
            source.reload();
            // The source coalesces bursts and applies each reload as one batch: no second debounce in the loop.
            Agent agent = new Agent(state, new IngressCompiler(o.compiler()), writer, new ProblemReporter(null), null,
                () -> true, 0).stopBeforeFirstCompile(warmup);
            agent.step();
            if (o.once()) {
                return agent.reporter().current().isEmpty() ? 0 : 1;
            }
            source.startWatching();
            return runUntilStopped(agent, writer);
        }
    }

    /** The client configuration: the --kubeconfig file, else auto-configuration (in-cluster, $KUBECONFIG...). */
    static Config clientConfig(Options o) throws IOException {
        if (o.kubeconfig() != null) {
            Path kc = Path.of(o.kubeconfig());
            if (!Files.isReadable(kc)) {
                throw new IOException("cannot read kubeconfig " + kc);
            }
            return Config.fromKubeconfig(kc.toAbsolutePath().toFile());
        }
        return Config.autoConfigure(null);
    }

    private static int runCluster(Options o) throws Exception {
        Config config = clientConfig(o);
        ClusterState state = new ClusterState();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
             RouteTableFileWriter writer = RouteTableFileWriter.open(o.routes());
             KubernetesSource source = new KubernetesSource(client, state, o.namespaces())) {
            LOG.log(Level.INFO, "serving Ingresses of " + config.getMasterUrl() + " into " + writer.path()
                + " (continuing after generation " + writer.lastPublishedGeneration() + ")");
            List<String> addresses = o.statusAddresses();
            if (addresses.isEmpty() && o.publishNode() != null && !o.publishNode().isEmpty()) {
                try {
                    addresses = source.nodeAddresses(o.publishNode());
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "cannot read node " + o.publishNode() + " for Ingress status: " + e);
                }
            }
            source.setStatusAddresses(addresses);
            if (addresses.isEmpty()) {
                LOG.log(Level.INFO, "no --status-address or node addresses: Ingress status is left alone");
            } else {
                LOG.log(Level.INFO, "Ingress status.loadBalancer.ingress: " + addresses);
            }
            CompilerWarmup warmup = CompilerWarmup.start(o.compiler()); // while the informers list the cluster
            source.start();
            Agent agent = new Agent(state, new IngressCompiler(o.compiler()), writer,
                new ProblemReporter(source::recordEvent), source::publishStatus, source::synced,
                o.debounceMs() != null ? o.debounceMs() : 5).stopBeforeFirstCompile(warmup);
            return runUntilStopped(agent, writer);
        }
    }

    private static int runUntilStopped(Agent agent, RouteTableFileWriter writer) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Thread loop = new Thread(() -> {
            try {
                agent.run();
            } finally {
                stopped.countDown();
            }
        }, "agent-compile");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            try {
                // Let main close the writer (file marked WRITER_CLOSED) and the source before the JVM halts.
                EXITED.await(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "agent-shutdown"));
        loop.start();
        stopped.await();
        LOG.log(Level.INFO, "agent stopped after " + agent.publications() + " publications; " + writer.path()
            + " keeps the last table");
        return Integer.MIN_VALUE;
    }
}
