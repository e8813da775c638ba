package io.sluice.agent.source;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.sluice.agent.ClusterState;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The cluster as the agent's source: fabric8 informers (list + watch, with the JDK HTTP client) on Ingress,
 * IngressClass, Service, EndpointSlice and Secret (only {@code kubernetes.io/tls} ones, by field selector), in all
 * namespaces or in a chosen set. Informer callbacks only update the {@link ClusterState}; the compile loop does the
 * rest on its own thread.
 *
 * <p>Also the agent's way back into the cluster, on one background thread so the compile loop never waits on the API
 * server: Kubernetes Events for problems ({@link #recordEvent}) and Ingress {@code status.loadBalancer.ingress}
 * ({@link #publishStatus}).
 */
public final class KubernetesSource implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");
    public static final String EVENT_COMPONENT = "sluice-agent";

    private final KubernetesClient client;
    private final ClusterState state;
    private final Set<String> namespaces;
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private final ExecutorService writes = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "kubernetes-writes");
        t.setDaemon(true);
        return t;
    });
    private final AtomicReference<List<ObjectRef>> pendingStatus = new AtomicReference<>();
    private volatile List<IngressLoadBalancerIngress> statusAddresses = List.of();
    private final String instance;

    /** @param namespaces namespaces to watch; empty for all */
    public KubernetesSource(KubernetesClient client, ClusterState state, Set<String> namespaces) {
        this.client = Objects.requireNonNull(client, "client");
        this.state = Objects.requireNonNull(state, "state");
        this.namespaces = Set.copyOf(namespaces);
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "unknown";
        }
        this.instance = host;
    }

    /** Starts the informers (they list, then watch, and reconnect by themselves). */
    public void start() {
        inform(ns -> ns == null ? client.network().v1().ingresses().inAnyNamespace()
            : client.network().v1().ingresses().inNamespace(ns));
        informers.add(client.network().v1().ingressClasses().inform(handler(), 0));
        inform(ns -> ns == null ? client.services().inAnyNamespace() : client.services().inNamespace(ns));
        inform(ns -> ns == null ? client.discovery().v1().endpointSlices().inAnyNamespace()
            : client.discovery().v1().endpointSlices().inNamespace(ns));
        inform(ns -> ns == null
            ? client.secrets().inAnyNamespace().withField("type", IngressCompiler.TLS_SECRET_TYPE)
            : client.secrets().inNamespace(ns).withField("type", IngressCompiler.TLS_SECRET_TYPE));
        LOG.log(Level.INFO, "watching Ingress, IngressClass, Service, EndpointSlice and TLS Secret in "
            + (namespaces.isEmpty() ? "all namespaces" : "namespaces " + namespaces));
    }

    private <T extends HasMetadata> void inform(Function<String, Informable<T>> op) {
        if (namespaces.isEmpty()) {
            informers.add(op.apply(null).inform(handler(), 0));
        } else {
            for (String ns : namespaces) {
                informers.add(op.apply(ns).inform(handler(), 0));
            }
        }
    }

    private <T extends HasMetadata> ResourceEventHandler<T> handler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                state.upsert(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                state.upsert(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                state.delete(obj);
            }
        };
    }

    /** True once every informer has listed its objects: compiling before that would report spurious problems. */
    public boolean synced() {
        for (SharedIndexInformer<?> i : informers) {
            if (!i.hasSynced()) {
                return false;
            }
        }
        return !informers.isEmpty();
    }

    // ------------------------------------------------------------------------------------------------- status

    /** The addresses written into claimed Ingresses' status; empty (the default) leaves status alone. */
    public void setStatusAddresses(List<String> addresses) {
        List<IngressLoadBalancerIngress> list = new ArrayList<>();
        for (String a : addresses) {
            IngressLoadBalancerIngressBuilder b = new IngressLoadBalancerIngressBuilder();
            list.add(isIpLiteral(a) ? b.withIp(a).build() : b.withHostname(a).build());
        }
        statusAddresses = List.copyOf(list);
    }

    public List<IngressLoadBalancerIngress> statusAddresses() {
        return statusAddresses;
    }

    /** A node's addresses for Ingress status: its ExternalIPs, or its InternalIPs when it has none. */
    public List<String> nodeAddresses(String nodeName) {
        Node node = client.nodes().withName(nodeName).get();
        if (node == null || node.getStatus() == null || node.getStatus().getAddresses() == null) {
            return List.of();
        }
        List<String> external = new ArrayList<>();
        List<String> internal = new ArrayList<>();
        for (NodeAddress a : node.getStatus().getAddresses()) {
            if ("ExternalIP".equals(a.getType())) {
                external.add(a.getAddress());
            } else if ("InternalIP".equals(a.getType())) {
                internal.add(a.getAddress());
            }
        }
        return external.isEmpty() ? internal : external;
    }

    static boolean isIpLiteral(String s) {
        return s.indexOf(':') >= 0 || s.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    /**
     * Sets {@code status.loadBalancer.ingress} of the given (claimed) Ingresses to the configured addresses where it
     * differs. Coalesces: while one pass runs, later calls replace each other and one more pass follows.
     */
    public void publishStatus(List<ObjectRef> claimed) {
        if (statusAddresses.isEmpty()) {
            return;
        }
        if (pendingStatus.getAndSet(claimed) == null) {
            writes.execute(this::statusPass);
        }
    }

    private void statusPass() {
        List<ObjectRef> refs = pendingStatus.getAndSet(null);
        if (refs == null) {
            return;
        }
        List<IngressLoadBalancerIngress> want = statusAddresses;
        int updated = 0;
        for (ObjectRef ref : refs) {
            if ("Service".equals(ref.kind())) { // an L4 LoadBalancer Service (issue 6)
                updated += ServiceStatus.update(client, state, ref, want) ? 1 : 0;
                continue;
            }
            Ingress cur = state.ingress(ref.namespace(), ref.name());
            if (cur == null) {
                continue;
            }
            List<IngressLoadBalancerIngress> have = cur.getStatus() == null || cur.getStatus().getLoadBalancer() == null
                || cur.getStatus().getLoadBalancer().getIngress() == null ? List.of()
                : cur.getStatus().getLoadBalancer().getIngress();
            if (sameAddresses(have, want)) {
                continue;
            }
            try {
                client.network().v1().ingresses().inNamespace(ref.namespace()).withName(ref.name())
                    .editStatus(i -> new IngressBuilder(i).editOrNewStatus().withNewLoadBalancer()
                        .withIngress(want).endLoadBalancer().endStatus().build());
                updated++;
            } catch (KubernetesClientException e) {
                LOG.log(Level.WARNING, "could not update status of " + ref + ": " + e.getMessage());
            }
        }
        if (updated > 0) {
            LOG.log(Level.INFO, "set status.loadBalancer of " + updated + " Ingresses and Services");
        }
    }

    static boolean sameAddresses(List<IngressLoadBalancerIngress> a, List<IngressLoadBalancerIngress> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Objects.equals(a.get(i).getIp(), b.get(i).getIp())
                    || !Objects.equals(a.get(i).getHostname(), b.get(i).getHostname())) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------- events

    /** Records a problem as a Warning Event on its object (asynchronously; failures are logged, never thrown). */
    public void recordEvent(Problem p) {
        ObjectRef ref = p.object();
        if ("File".equals(ref.kind())) {
            return;
        }
        String uid = null;
        String apiVersion = switch (ref.kind()) {
            case "Ingress", "IngressClass" -> "networking.k8s.io/v1";
            case "EndpointSlice" -> "discovery.k8s.io/v1";
            default -> "v1";
        };
        if ("Ingress".equals(ref.kind())) {
            Ingress ing = state.ingress(ref.namespace(), ref.name());
            uid = ing == null ? null : ing.getMetadata().getUid();
        }
        String ns = ref.namespace().isEmpty() ? "default" : ref.namespace();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String message = p.message().length() > 1000 ? p.message().substring(0, 1000) + "..." : p.message();
        Event event = new EventBuilder()
            .withNewMetadata()
                .withName(ref.name() + "." + Long.toHexString(System.nanoTime()))
                .withNamespace(ns)
            .endMetadata()
            .withNewInvolvedObject()
                .withKind(ref.kind()).withApiVersion(apiVersion).withNamespace(ref.namespace().isEmpty() ? null
                    : ref.namespace()).withName(ref.name()).withUid(uid)
            .endInvolvedObject()
            .withType("Warning")
            .withReason(p.reason())
            .withMessage(message)
            .withNewSource().withComponent(EVENT_COMPONENT).withHost(instance).endSource()
            .withReportingComponent(IngressCompiler.CONTROLLER)
            .withReportingInstance(instance)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1)
            .build();
        writes.execute(() -> {
            try {
                client.v1().events().inNamespace(ns).resource(event).create();
            } catch (KubernetesClientException e) {
                LOG.log(Level.DEBUG, "could not record event for " + ref + ": " + e.getMessage());
            }
        });
    }

    /** Waits for queued status updates and events to be sent (tests, shutdown). */
    public void flush() throws InterruptedException {
        var f = writes.submit(() -> { });
        try {
            f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (SharedIndexInformer<?> i : informers) {
            i.close();
        }
        writes.shutdown();
    }
}
