package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles Services of {@code type: LoadBalancer} with {@code spec.loadBalancerClass: sluice.io/l4} into
 * {@link L4Service}s (issue 6), in the agent's two phases:
 *
 * <ul>
 *   <li><b>route phase</b> ({@link #compileRoutes}): which Service ports are served, on which listen port and
 *   protocol, with which options. Every TCP and UDP port of such a Service becomes one L4 service named
 *   {@code namespace/name:port-name-or-number}, listening on the Service {@code port}. Two Services on the same port
 *   and protocol conflict: the older Service (creation time, then namespace/name) keeps it, the other's port is left
 *   out and reported ({@code Conflict}). SCTP ports are reported and left out.</li>
 *   <li><b>endpoint phase</b> ({@link #resolveEndpoints}): the ready endpoints of each served port from the
 *   Service's EndpointSlices (the slice port with the same name and protocol), terminating-but-serving ones as
 *   draining, exactly as for Ingress backends, sorted so every node builds the same Maglev table.</li>
 * </ul>
 *
 * Options: {@code sessionAffinity: ClientIP} with {@code sessionAffinityConfig.clientIP.timeoutSeconds} (default
 * 10800, as Kubernetes); annotation {@code sluice.io/proxy-protocol: "v2"} (TCP ports); annotation
 * {@code sluice.io/maglev-table-size: "<prime>"}.
 */
public final class L4Compiler {
    public static final String LOAD_BALANCER_CLASS = "sluice.io/l4";
    public static final String PROXY_PROTOCOL_ANNOTATION = "sluice.io/proxy-protocol";
    public static final String TABLE_SIZE_ANNOTATION = "sluice.io/maglev-table-size";
    /** Kubernetes' default {@code sessionAffinityConfig.clientIP.timeoutSeconds}. */
    public static final int DEFAULT_AFFINITY_SECONDS = 10_800;

    /** One served Service port, before its endpoints are known. */
    private record Port(String name, String namespace, String service, String portName, L4Service.Protocol protocol,
                        int port, int affinitySeconds, boolean proxyProtocol, int tableSize) {
    }

    private List<Port> ports = List.of();

    /** Whether {@code s} is ours: type LoadBalancer and our load-balancer class. */
    public static boolean claims(Service s) {
        ServiceSpec spec = s.getSpec();
        return spec != null && "LoadBalancer".equals(spec.getType())
            && LOAD_BALANCER_CLASS.equals(spec.getLoadBalancerClass());
    }

    /**
     * Route phase. Adds the problems found to {@code problems} and the Services served to {@code claimed} (their status
     * gets the node addresses).
     */
    public void compileRoutes(Collection<Service> services, List<Problem> problems, List<ObjectRef> claimed) {
        List<Service> ours = new ArrayList<>();
        for (Service s : services) {
            if (s.getMetadata() != null && s.getMetadata().getName() != null && claims(s)) {
                ours.add(s);
            }
        }
        ours.sort(Comparator.comparingLong((Service s) -> IngressCompiler.created(s.getMetadata()))
            .thenComparing(s -> ns(s)).thenComparing(s -> s.getMetadata().getName()));
        Map<String, String> owner = new HashMap<>(); // tcp/80 → the Service that has it
        List<Port> out = new ArrayList<>();
        for (Service s : ours) {
            ObjectRef ref = new ObjectRef("Service", ns(s), s.getMetadata().getName());
            Options o = options(s, ref, problems);
            List<ServicePort> sps = s.getSpec().getPorts() == null ? List.of() : s.getSpec().getPorts();
            if (sps.isEmpty()) {
                problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "a LoadBalancer Service of class "
                    + LOAD_BALANCER_CLASS + " without ports"));
            }
            boolean served = false;
            for (int i = 0; i < sps.size(); i++) {
                ServicePort sp = sps.get(i);
                String where = "spec.ports[" + i + "]";
                String proto = sp.getProtocol() == null ? "TCP" : sp.getProtocol();
                L4Service.Protocol protocol;
                try {
                    protocol = L4Service.Protocol.parse(proto);
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem(ref, Reasons.UNSUPPORTED_PROTOCOL, where + ": protocol " + proto
                        + " is not served (TCP and UDP are); the port is left out"));
                    continue;
                }
                if (sp.getPort() == null || sp.getPort() < 1 || sp.getPort() > 65535) {
                    problems.add(new Problem(ref, Reasons.INVALID_OBJECT, where + ": port " + sp.getPort()
                        + " out of range"));
                    continue;
                }
                String key = protocol + "/" + sp.getPort();
                String had = owner.putIfAbsent(key, ref.key());
                if (had != null) {
                    problems.add(new Problem(ref, Reasons.CONFLICT, where + ": " + protocol + " port " + sp.getPort()
                        + " is already served for the older Service " + had + "; this port is left out"));
                    continue;
                }
                String portName = sp.getName() == null ? "" : sp.getName();
                String label = portName.isEmpty() ? Integer.toString(sp.getPort()) : portName;
                out.add(new Port(ref.key() + ":" + label, ref.namespace(), ref.name(), portName, protocol,
                    sp.getPort(), o.affinitySeconds, o.proxyProtocol && protocol == L4Service.Protocol.TCP,
                    o.tableSize));
                served = true;
            }
            if (served) {
                claimed.add(ref);
            }
        }
        out.sort(Comparator.comparing(Port::name));
        ports = List.copyOf(out);
    }

    private static String ns(Service s) {
        String ns = s.getMetadata().getNamespace();
        return ns == null || ns.isEmpty() ? "default" : ns;
    }

    private record Options(int affinitySeconds, boolean proxyProtocol, int tableSize) {
    }

    private static Options options(Service s, ObjectRef ref, List<Problem> problems) {
        ServiceSpec spec = s.getSpec();
        int affinity = 0;
        if ("ClientIP".equals(spec.getSessionAffinity())) {
            affinity = DEFAULT_AFFINITY_SECONDS;
            if (spec.getSessionAffinityConfig() != null && spec.getSessionAffinityConfig().getClientIP() != null
                    && spec.getSessionAffinityConfig().getClientIP().getTimeoutSeconds() != null) {
                int t = spec.getSessionAffinityConfig().getClientIP().getTimeoutSeconds();
                if (t > 0) {
                    affinity = t;
                } else {
                    problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "sessionAffinityConfig.clientIP."
                        + "timeoutSeconds " + t + " is not positive; the default " + DEFAULT_AFFINITY_SECONDS
                        + " applies"));
                }
            }
        }
        Map<String, String> ann = s.getMetadata().getAnnotations() == null ? Map.of()
            : s.getMetadata().getAnnotations();
        boolean pp = false;
        String ppv = ann.get(PROXY_PROTOCOL_ANNOTATION);
        if (ppv != null) {
            if ("v2".equalsIgnoreCase(ppv.trim())) {
                pp = true;
            } else if (!"none".equalsIgnoreCase(ppv.trim()) && !ppv.isBlank()) {
                problems.add(new Problem(ref, Reasons.INVALID_ANNOTATION, PROXY_PROTOCOL_ANNOTATION + ": '" + ppv
                    + "' (expected v2 or none); no PROXY header is sent"));
            }
        }
        int size = 0;
        String sz = ann.get(TABLE_SIZE_ANNOTATION);
        if (sz != null) {
            try {
                size = Integer.parseInt(sz.trim());
                if (!L4Service.isPrime(size) || size < 3) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                size = 0;
                problems.add(new Problem(ref, Reasons.INVALID_ANNOTATION, TABLE_SIZE_ANNOTATION + ": '" + sz
                    + "' is not a prime >= 3 (e.g. 65537, 655373); the default applies"));
            }
        }
        return new Options(affinity, pp, size);
    }

    /** Endpoint phase: the served ports of the last route phase with their current endpoints. */
    public List<L4Service> resolveEndpoints(ClusterView view) {
        List<L4Service> out = new ArrayList<>(ports.size());
        for (Port p : ports) {
            Collection<EndpointSlice> slices = view.endpointSlices(p.namespace(), p.service());
            List<Endpoint> eps = IngressCompiler.sliceEndpoints(p.portName(), p.protocol().name(), slices);
            out.add(new L4Service(p.name(), p.protocol(), p.port(), eps, p.affinitySeconds(), p.proxyProtocol(),
                p.tableSize()));
        }
        return List.copyOf(out);
    }
}
