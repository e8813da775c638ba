package io.sluice.agent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.sluice.agent.compile.ClusterView;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.Problem;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The objects the agent knows, fed by a source (informers or a manifests directory) and read by the compile loop.
 *
 * <p>Sources call {@link #upsert}/{@link #delete} from their own threads; each call that changes something the compile
 * reads bumps one of two revisions: {@link #endpointsRevision()} for EndpointSlices, {@link #routesRevision()} for
 * everything else. The compile loop compares revisions to decide between a full compile and an endpoint-only one.
 * Changes that cannot affect routing (status, resourceVersion, managed fields; in particular our own status
 * updates) bump nothing. Reads during a single change are weakly consistent, which is enough: every change bumps a
 * revision after it is applied, so the loop compiles again and converges.
 *
 * <p>A batch ({@link #replaceAll}: a reloaded manifests directory) is applied as one change: the compile loop reads
 * the state inside {@link #readConsistently}, which excludes a batch in progress, so it never compiles a directory
 * half applied — e.g. an EndpointSlice renamed (old one deleted, new one not yet added), which would publish a backend
 * without endpoints and answer 503 for a moment. (A cluster has no such batches: informers deliver one object at a
 * time, as the API server changes them.)
 */
public final class ClusterState implements ClusterView {
    private final ConcurrentHashMap<String, Ingress> ingresses = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, IngressClass> classes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Service> services = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Secret> secrets = new ConcurrentHashMap<>();
    /** service key (ns/name) → slice name → slice. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<String, EndpointSlice>> slices = new ConcurrentHashMap<>();
    /** slice key (ns/name) → service key it is filed under. */
    private final ConcurrentHashMap<String, String> sliceService = new ConcurrentHashMap<>();

    private final Object monitor = new Object();
    /** Held by a batch of changes ({@link #replaceAll}) and by the compile's reads ({@link #readConsistently}). */
    private final ReentrantLock batch = new ReentrantLock();
    private long routesRevision;
    private long endpointsRevision;
    private volatile List<Problem> sourceProblems = List.of();

    private static String key(String ns, String name) {
        return (ns == null || ns.isEmpty() ? "default" : ns) + "/" + name;
    }

    private static String key(HasMetadata o) {
        return key(o.getMetadata().getNamespace(), o.getMetadata().getName());
    }

    // ----------------------------------------------------------------------------------------------- ClusterView

    @Override
    public Collection<Ingress> ingresses() {
        return ingresses.values();
    }

    @Override
    public Collection<IngressClass> ingressClasses() {
        return classes.values();
    }

    @Override
    public IngressClass ingressClass(String name) {
        return name == null ? null : classes.get(name);
    }

    @Override
    public Service service(String namespace, String name) {
        return services.get(key(namespace, name));
    }

    @Override
    public Collection<Service> services() {
        return services.values();
    }

    @Override
    public Collection<EndpointSlice> endpointSlices(String namespace, String service) {
        Map<String, EndpointSlice> m = slices.get(key(namespace, service));
        return m == null ? List.of() : m.values();
    }

    @Override
    public Secret secret(String namespace, String name) {
        return secrets.get(key(namespace, name));
    }

    public Ingress ingress(String namespace, String name) {
        return ingresses.get(key(namespace, name));
    }

    // ------------------------------------------------------------------------------------------------- changes

    /** Adds or replaces an object of a kind the agent reads (others are ignored). Returns whether routing may change. */
    public boolean upsert(HasMetadata o) {
        Objects.requireNonNull(o, "o");
        if (o.getMetadata() == null || o.getMetadata().getName() == null) {
            return false;
        }
        boolean changed;
        boolean endpoints = false;
        switch (o) {
            case Ingress i -> changed = !sameIngress(ingresses.put(key(i), i), i);
            case IngressClass c -> changed = !sameClass(classes.put(c.getMetadata().getName(), c), c);
            case Service s -> changed = !sameService(services.put(key(s), s), s);
            case Secret s -> {
                if (s.getType() != null && !IngressCompiler.TLS_SECRET_TYPE.equals(s.getType())
                        && !"Opaque".equals(s.getType())) {
                    // Service account tokens, docker configs...: never TLS material; don't keep them.
                    changed = secrets.remove(key(s)) != null;
                } else {
                    changed = !sameSecret(secrets.put(key(s), s), s);
                }
            }
            case EndpointSlice es -> {
                changed = putSlice(es);
                endpoints = true;
            }
            default -> changed = false;
        }
        if (changed) {
            bump(endpoints);
        }
        return changed;
    }

    /** Removes an object. Returns whether routing may change. */
    public boolean delete(HasMetadata o) {
        if (o.getMetadata() == null || o.getMetadata().getName() == null) {
            return false;
        }
        boolean changed;
        boolean endpoints = false;
        switch (o) {
            case Ingress i -> changed = ingresses.remove(key(i)) != null;
            case IngressClass c -> changed = classes.remove(c.getMetadata().getName()) != null;
            case Service s -> changed = services.remove(key(s)) != null;
            case Secret s -> changed = secrets.remove(key(s)) != null;
            case EndpointSlice es -> {
                changed = removeSlice(key(es));
                endpoints = true;
            }
            default -> changed = false;
        }
        if (changed) {
            bump(endpoints);
        }
        return changed;
    }

    /**
     * Makes the state exactly {@code objects} (a manifests directory reloaded): adds, replaces and removes as needed,
     * as one batch (see the class comment). Problems found by the source itself (parse errors) are kept for the
     * compile loop to report.
     */
    public void replaceAll(Collection<? extends HasMetadata> objects, List<Problem> problems) {
        batch.lock();
        try {
            Map<String, HasMetadata> wanted = new HashMap<>();
            for (HasMetadata o : objects) {
                String k = o.getClass().getSimpleName() + ":" + (o instanceof IngressClass ? o.getMetadata().getName()
                    : key(o));
                wanted.put(k, o);
            }
            List<HasMetadata> gone = new ArrayList<>();
            ingresses.values().forEach(o -> collectGone(o, key(o), wanted, gone));
            classes.values().forEach(o -> collectGone(o, o.getMetadata().getName(), wanted, gone));
            services.values().forEach(o -> collectGone(o, key(o), wanted, gone));
            secrets.values().forEach(o -> collectGone(o, key(o), wanted, gone));
            slices.values().forEach(m -> m.values().forEach(o -> collectGone(o, key(o), wanted, gone)));
            for (HasMetadata o : gone) {
                delete(o);
            }
            for (HasMetadata o : objects) {
                upsert(o);
            }
            List<Problem> p = List.copyOf(problems);
            if (!p.equals(sourceProblems)) {
                sourceProblems = p;
                bump(false);
            }
        } finally {
            batch.unlock();
        }
    }

    /**
     * Runs {@code read} (the compile) while no batch is half applied: a {@link #replaceAll} in progress finishes first,
     * and none starts until {@code read} returns. Revisions read inside belong to the state the compile saw.
     */
    public <T> T readConsistently(Supplier<T> read) {
        batch.lock();
        try {
            return read.get();
        } finally {
            batch.unlock();
        }
    }

    private static void collectGone(HasMetadata o, String k, Map<String, HasMetadata> wanted, List<HasMetadata> gone) {
        if (!wanted.containsKey(o.getClass().getSimpleName() + ":" + k)) {
            gone.add(o);
        }
    }

    /** Problems the source found (manifest parse errors...), reported along with the compile's. */
    public List<Problem> sourceProblems() {
        return sourceProblems;
    }

    private boolean putSlice(EndpointSlice es) {
        String sk = key(es);
        Map<String, String> labels = es.getMetadata().getLabels();
        String svc = labels == null ? null : labels.get(IngressCompiler.SERVICE_NAME_LABEL);
        if (svc == null) {
            return removeSlice(sk);
        }
        String svcKey = key(es.getMetadata().getNamespace(), svc);
        String before = sliceService.put(sk, svcKey);
        boolean moved = false;
        if (before != null && !before.equals(svcKey)) {
            Map<String, EndpointSlice> old = slices.get(before);
            if (old != null) {
                old.remove(es.getMetadata().getName());
            }
            moved = true;
        }
        EndpointSlice prev = slices.computeIfAbsent(svcKey, k -> new ConcurrentHashMap<>())
            .put(es.getMetadata().getName(), es);
        return moved || !sameSlice(prev, es);
    }

    private boolean removeSlice(String sliceKey) {
        String svcKey = sliceService.remove(sliceKey);
        if (svcKey == null) {
            return false;
        }
        Map<String, EndpointSlice> m = slices.get(svcKey);
        if (m == null) {
            return false;
        }
        String name = sliceKey.substring(sliceKey.indexOf('/') + 1);
        boolean removed = m.remove(name) != null;
        if (m.isEmpty()) {
            slices.remove(svcKey, m);
        }
        return removed;
    }

    private void bump(boolean endpointsOnly) {
        synchronized (monitor) {
            if (endpointsOnly) {
                endpointsRevision++;
            } else {
                routesRevision++;
            }
            monitor.notifyAll();
        }
    }

    /** Marks routes dirty without a change of objects (options changed, tests). */
    public void touch() {
        bump(false);
    }

    public long routesRevision() {
        synchronized (monitor) {
            return routesRevision;
        }
    }

    public long endpointsRevision() {
        synchronized (monitor) {
            return endpointsRevision;
        }
    }

    /** Waits until either revision differs from the given ones, or the timeout passes. Returns whether one did. */
    public boolean awaitChange(long routes, long endpoints, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (monitor) {
            while (routesRevision == routes && endpointsRevision == endpoints) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                monitor.wait(left);
            }
            return true;
        }
    }

    public int size() {
        int n = ingresses.size() + classes.size() + services.size() + secrets.size();
        for (Map<String, EndpointSlice> m : slices.values()) {
            n += m.size();
        }
        return n;
    }

    // ------------------------------------------------------------- "same for routing" (ignores status, versions)

    private static boolean sameMeta(ObjectMeta a, ObjectMeta b) {
        return Objects.equals(a.getAnnotations(), b.getAnnotations())
            && Objects.equals(a.getCreationTimestamp(), b.getCreationTimestamp())
            && Objects.equals(a.getUid(), b.getUid());
    }

    private static boolean sameIngress(Ingress a, Ingress b) {
        return a != null && sameMeta(a.getMetadata(), b.getMetadata()) && Objects.equals(a.getSpec(), b.getSpec());
    }

    private static boolean sameClass(IngressClass a, IngressClass b) {
        return a != null && sameMeta(a.getMetadata(), b.getMetadata()) && Objects.equals(a.getSpec(), b.getSpec());
    }

    private static boolean sameService(Service a, Service b) {
        return a != null && sameMeta(a.getMetadata(), b.getMetadata()) && Objects.equals(a.getSpec(), b.getSpec());
    }

    private static boolean sameSecret(Secret a, Secret b) {
        return a != null && Objects.equals(a.getType(), b.getType()) && Objects.equals(a.getData(), b.getData())
            && Objects.equals(a.getStringData(), b.getStringData());
    }

    private static boolean sameSlice(EndpointSlice a, EndpointSlice b) {
        return a != null && Objects.equals(a.getEndpoints(), b.getEndpoints())
            && Objects.equals(a.getPorts(), b.getPorts()) && Objects.equals(a.getAddressType(), b.getAddressType())
            && Objects.equals(a.getMetadata().getLabels(), b.getMetadata().getLabels());
    }
}
