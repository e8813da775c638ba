package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.TypedLocalObjectReference;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressServiceBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressSpec;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLS;
import io.fabric8.kubernetes.api.model.networking.v1.ServiceBackendPort;
import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.UpstreamTls;
import io.sluice.routetable.VirtualHost;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Compiles Ingresses, with their IngressClasses, Services, EndpointSlices and TLS Secrets, into a {@link RouteTable}.
 *
 * <p>Two phases, so that the most frequent change, endpoints, is cheap:
 * <ol>
 *   <li>{@link #compileRoutes}: class selection, validation, host/path merge across Ingresses, conflict resolution,
 *       backend resolution to Service ports, TLS. Its {@link RoutePlan} depends on everything but EndpointSlices.</li>
 *   <li>{@link #resolveEndpoints}: the endpoints of each backend from the EndpointSlices; reuses the plan's host list
 *       unchanged.</li>
 * </ol>
 *
 * <p>Determinism: Ingresses are processed oldest first (creationTimestamp, then namespace/name), so when two define the
 * same host, path type and path, the older one wins wherever and whenever the compile runs, and the other is reported.
 * The output is sorted (hosts by name, paths by precedence, backends and certificates by name).
 *
 * <p>Not thread-safe: one compile loop uses an instance (it caches each backend's endpoints between compiles).
 */
public final class IngressCompiler {
    /** {@code spec.controller} of the IngressClasses Sluice serves. */
    public static final String CONTROLLER = "sluice.io/ingress-controller";
    public static final String DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
    public static final String LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
    /** Optional annotation on a Service choosing the balancer of its backends: round-robin, weighted, least-request. */
    public static final String BALANCER_ANNOTATION = "sluice.io/balancer";
    /**
     * Optional Ingress annotation choosing how Sluice speaks to the backends of its paths: HTTP (default), HTTPS,
     * H2C, H2, GRPC (HTTP/2 cleartext) or GRPCS. ingress-nginx's name for it is accepted too.
     */
    public static final String BACKEND_PROTOCOL_ANNOTATION = "sluice.io/backend-protocol";
    public static final String NGINX_BACKEND_PROTOCOL_ANNOTATION = "nginx.ingress.kubernetes.io/backend-protocol";
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    public static final String TLS_SECRET_TYPE = "kubernetes.io/tls";

    /**
     * @param controllerName           IngressClass {@code spec.controller} value we serve
     * @param legacyClassNames         values of the legacy {@code kubernetes.io/ingress.class} annotation we serve, in
     *                                 addition to the names of IngressClasses with our controller
     * @param watchIngressWithoutClass serve Ingresses with no class at all even when no default IngressClass of ours
     *                                 exists
     */
    public record Options(String controllerName, Set<String> legacyClassNames, boolean watchIngressWithoutClass) {
        public Options {
            Objects.requireNonNull(controllerName, "controllerName");
            legacyClassNames = Set.copyOf(legacyClassNames);
        }

        public static Options defaults() {
            return new Options(CONTROLLER, Set.of("sluice"), false);
        }
    }

    /** Longest path first; on equal paths Exact before Prefix; then by path, for a stable order. */
    private static final Comparator<PathRule> PRECEDENCE = (a, b) -> {
        int c = Integer.compare(b.path().length(), a.path().length());
        if (c == 0) {
            c = a.type().compareTo(b.type());
        }
        return c != 0 ? c : a.path().compareTo(b.path());
    };

    private static final Comparator<Endpoint> ENDPOINT_ORDER = Comparator.comparing(Endpoint::host)
        .thenComparingInt(Endpoint::port);

    private final Options options;
    /** Services of our load-balancer class: compiled along with the Ingresses, into {@link RouteTable#l4()}. */
    private final L4Compiler l4 = new L4Compiler();
    /** backend name → endpoints computed last time; see {@link CachedEndpoints}. */
    private Map<String, CachedEndpoints> endpointCache = new HashMap<>();

    public IngressCompiler(Options options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    public IngressCompiler() {
        this(Options.defaults());
    }

    public Options options() {
        return options;
    }

    /** Both phases. */
    public RouteTable compile(ClusterView view, long generation) {
        return resolveEndpoints(compileRoutes(view), view, generation);
    }

    // ------------------------------------------------------------------------------------------------ route phase

    /** One rule while merging: the compiled path, its backend, and where it came from. */
    private record Owned(String path, PathType type, String backend, String source, ObjectRef owner) {
    }

    private record Claimed(Ingress ingress, ObjectRef ref, long created) {
    }

    /** Phase 1: everything but endpoints. */
    public RoutePlan compileRoutes(ClusterView view) {
        RouteMerge merge = new RouteMerge(view);
        ClassSelector classes = new ClassSelector(view, options);
        List<Claimed> claimed = new ArrayList<>();
        for (Ingress ing : view.ingresses()) {
            if (ing.getMetadata() == null || ing.getMetadata().getName() == null) {
                continue;
            }
            ObjectRef ref = ref(ing);
            if (classes.claims(ing, ref, merge.problems)) {
                claimed.add(new Claimed(ing, ref, created(ing.getMetadata())));
            }
        }
        claimed.sort(IngressCompiler::olderFirst);
        for (Claimed c : claimed) {
            merge.add(c);
        }
        l4.compileRoutes(view.services(), merge.problems, merge.claimedRefs); // L4 Services (issue 6)
        return merge.plan();
    }

    /** A host's rules while merging: Exact and Prefix paths apart, so a path is its own key. */
    private static final class HostRules {
        final HashMap<String, Owned> exact = new HashMap<>();
        final HashMap<String, Owned> prefix = new HashMap<>();
    }

    /**
     * The state of one route phase: Ingresses are added oldest first, each rule to its host, conflicts decided on the
     * way. Per Ingress and per path in methods of their own (not one long loop): a cold JVM compiles small methods
     * sooner than it replaces a long-running loop (on-stack replacement), and the first compile after the agent starts
     * runs mostly before the JIT has caught up. Strings that only problems need ({@code spec.rules[0].http.paths[1]})
     * are built only when there is a problem.
     */
    private static final class RouteMerge {
        private final ClusterView view;
        final List<Problem> problems = new ArrayList<>();
        private final Map<String, HostRules> hosts = new HashMap<>();
        private final Map<String, BackendSpec> backends = new HashMap<>();
        private String defaultBackend;
        private ObjectRef defaultOwner;
        private final TlsMerge tls = new TlsMerge();
        private final List<ObjectRef> claimedRefs = new ArrayList<>();
        private int pathCount;
        /** The backend protocol the Ingress being added asks for, or null (then the Service port's appProtocol). */
        private BackendProtocol protocol;
        /** The proxy-ssl-* settings of the Ingress being added, or null. */
        private UpstreamTls upstreamTls;

        RouteMerge(ClusterView view) {
            this.view = view;
        }

        void add(Claimed c) {
            Ingress ing = c.ingress();
            ObjectRef ref = c.ref();
            claimedRefs.add(ref);
            String ns = ref.namespace();
            IngressSpec spec = ing.getSpec();
            if (spec == null) {
                problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "has no spec"));
                return;
            }
            String source = "ingress " + ns + "/" + ref.name();
            protocol = backendProtocol(ing, ref, problems);
            upstreamTls = TlsAnnotations.upstreamTls(ing, ref, view, problems);
            TlsOptions tlsOptions = TlsAnnotations.options(ing, ref, view, problems);
            if (spec.getDefaultBackend() != null) {
                String b = backend(view, ref, ns, spec.getDefaultBackend(), -1, -1, protocol, upstreamTls, backends,
                    problems);
                if (b != null) {
                    if (defaultBackend == null) {
                        defaultBackend = b;
                        defaultOwner = ref;
                    } else {
                        problems.add(new Problem(ref, Reasons.DEFAULT_BACKEND_CONFLICT, "spec.defaultBackend "
                            + b + " ignored: the older " + defaultOwner + " already sets the default backend ("
                            + defaultBackend + ")"));
                    }
                }
            }
            List<IngressRule> rules = spec.getRules() == null ? List.of() : spec.getRules();
            if (rules.isEmpty() && spec.getDefaultBackend() == null) {
                problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "has neither rules nor spec.defaultBackend"));
            }
            for (int ri = 0; ri < rules.size(); ri++) {
                IngressRule rule = rules.get(ri);
                String host = rule.getHost() == null ? "" : rule.getHost();
                String hostError = IngressRules.checkHost(host);
                if (hostError != null) {
                    problems.add(new Problem(ref, Reasons.INVALID_HOST, "spec.rules[" + ri + "].host '" + host + "' "
                        + hostError + "; rule ignored"));
                    continue;
                }
                if (rule.getHttp() == null || rule.getHttp().getPaths() == null) {
                    continue; // a host-only rule: nothing to route (the default backend serves it)
                }
                List<HTTPIngressPath> paths = rule.getHttp().getPaths();
                for (int pi = 0; pi < paths.size(); pi++) {
                    addPath(ref, ns, source, host, ri, pi, paths.get(pi));
                }
            }
            if (tlsOptions.passthrough()) {
                List<String> hostsOfRules = new ArrayList<>();
                for (IngressRule rule : rules) {
                    if (rule.getHost() != null && !rule.getHost().isEmpty()
                        && IngressRules.checkHost(rule.getHost()) == null) {
                        hostsOfRules.add(rule.getHost());
                    }
                }
                tls.addPassthrough(ref, hostsOfRules, tlsOptions, problems);
            } else if (spec.getTls() != null) {
                for (int ti = 0; ti < spec.getTls().size(); ti++) {
                    tls.add(view, ref, ns, spec.getTls().get(ti), "spec.tls[" + ti + "]", tlsOptions, problems);
                }
            }
        }

        private void addPath(ObjectRef ref, String ns, String source, String host, int ri, int pi,
                             HTTPIngressPath p) {
            String type = p.getPathType();
            PathType pt;
            if (IngressRules.EXACT.equals(type)) {
                pt = PathType.EXACT;
            } else if (IngressRules.PREFIX.equals(type) || IngressRules.IMPLEMENTATION_SPECIFIC.equals(type)) {
                pt = PathType.PREFIX;
            } else {
                problems.add(new Problem(ref, Reasons.INVALID_PATH_TYPE, where(ri, pi) + ": pathType "
                    + (type == null ? "is missing" : "'" + type + "' is unknown")
                    + " (Exact, Prefix or ImplementationSpecific); path ignored"));
                return;
            }
            String pathError = IngressRules.checkPath(p.getPath(), type);
            if (pathError != null) {
                problems.add(new Problem(ref, Reasons.INVALID_PATH, where(ri, pi) + ": path '" + p.getPath() + "' "
                    + pathError + "; path ignored"));
                return;
            }
            String path = IngressRules.normalize(p.getPath(), type);
            String b = backend(view, ref, ns, p.getBackend(), ri, pi, protocol, upstreamTls, backends, problems);
            if (b == null) {
                return;
            }
            HostRules rules = hosts.get(host);
            if (rules == null) {
                rules = new HostRules();
                hosts.put(host, rules);
            }
            HashMap<String, Owned> byPath = pt == PathType.EXACT ? rules.exact : rules.prefix;
            Owned existing = byPath.get(path);
            if (existing == null) {
                byPath.put(path, new Owned(path, pt, b, source, ref));
                pathCount++;
            } else if (existing.owner().equals(ref)) {
                problems.add(new Problem(ref, Reasons.DUPLICATE_PATH, where(ri, pi) + ": host '" + host + "' "
                    + pt.name() + " " + path + " appears earlier in this Ingress; ignored"));
            } else {
                problems.add(new Problem(ref, Reasons.CONFLICT, where(ri, pi) + ": host '" + host + "' "
                    + pt.name() + " " + path + " is already defined by the older " + existing.owner()
                    + "; that one wins, this one is ignored"));
            }
        }

        RoutePlan plan() {
            // Backends sorted by name; rules refer to them by index.
            String[] backendNames = backends.keySet().toArray(new String[0]);
            Arrays.sort(backendNames);
            Map<String, Integer> index = new HashMap<>(backendNames.length * 2);
            List<BackendSpec> backendList = new ArrayList<>(backendNames.length);
            for (String n : backendNames) {
                index.put(n, backendList.size());
                backendList.add(backends.get(n));
            }
            String[] hostNames = hosts.keySet().toArray(new String[0]);
            Arrays.sort(hostNames);
            List<VirtualHost> vhs = new ArrayList<>(hostNames.length);
            for (String h : hostNames) {
                HostRules hr = hosts.get(h);
                PathRule[] rules = new PathRule[hr.exact.size() + hr.prefix.size()];
                int i = 0;
                for (Owned o : hr.exact.values()) {
                    rules[i++] = new PathRule(o.path(), o.type(), index.get(o.backend()), o.source());
                }
                for (Owned o : hr.prefix.values()) {
                    rules[i++] = new PathRule(o.path(), o.type(), index.get(o.backend()), o.source());
                }
                Arrays.sort(rules, PRECEDENCE);
                vhs.add(new VirtualHost(h, Arrays.asList(rules)));
            }
            List<Problem> distinct = new ArrayList<>(new java.util.TreeSet<>(problems));
            return new RoutePlan(List.copyOf(vhs), List.copyOf(backendList),
                defaultBackend == null ? -1 : index.get(defaultBackend), tls.certificates(),
                List.copyOf(claimedRefs), List.copyOf(distinct), pathCount);
        }
    }

    /** Where in an Ingress a path is, for problems: {@code spec.rules[ri].http.paths[pi]}. */
    private static String where(int ri, int pi) {
        return "spec.rules[" + ri + "].http.paths[" + pi + "]";
    }

    private static int olderFirst(Claimed a, Claimed b) {
        int c = Long.compare(a.created(), b.created());
        if (c == 0) {
            c = a.ref().namespace().compareTo(b.ref().namespace());
        }
        return c != 0 ? c : a.ref().name().compareTo(b.ref().name());
    }

    private static ObjectRef ref(Ingress ing) {
        ObjectMeta m = ing.getMetadata();
        return new ObjectRef("Ingress", m.getNamespace() == null ? "default" : m.getNamespace(), m.getName());
    }

    /**
     * creationTimestamp as epoch seconds (the API's resolution); Long.MAX_VALUE when absent (manifests), so those
     * order after all timestamped ones and by namespace/name among themselves. The API's canonical form
     * ({@code 2024-01-31T12:00:00Z}) is read directly: {@code Instant.parse} is costly for 10,000 Ingresses on a
     * cold JVM.
     */
    static long created(ObjectMeta m) {
        String ts = m.getCreationTimestamp();
        if (ts == null || ts.isEmpty()) {
            return Long.MAX_VALUE;
        }
        if (ts.length() == 20 && ts.charAt(4) == '-' && ts.charAt(7) == '-' && ts.charAt(10) == 'T'
                && ts.charAt(13) == ':' && ts.charAt(16) == ':' && ts.charAt(19) == 'Z') {
            int y = digits(ts, 0, 4);
            int mo = digits(ts, 5, 2);
            int d = digits(ts, 8, 2);
            int h = digits(ts, 11, 2);
            int mi = digits(ts, 14, 2);
            int sec = digits(ts, 17, 2);
            if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60
                    && sec >= 0 && sec < 61) {
                try {
                    return java.time.LocalDate.of(y, mo, d).toEpochDay() * 86_400L + h * 3600L + mi * 60L + sec;
                } catch (java.time.DateTimeException e) {
                    return Long.MAX_VALUE;
                }
            }
        }
        try {
            return Instant.parse(ts).getEpochSecond();
        } catch (DateTimeParseException e) {
            return Long.MAX_VALUE;
        }
    }

    private static int digits(String s, int from, int n) {
        int v = 0;
        for (int i = from; i < from + n; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /**
     * Resolves an Ingress backend to a backend name, registering its spec; null when the path must be dropped.
     * {@code ri}, {@code pi}: the rule and path it belongs to, for problems; -1 for {@code spec.defaultBackend}.
     */
    private static String backend(ClusterView view, ObjectRef ref, String ns, IngressBackend b, int ri, int pi,
                                  BackendProtocol asked, UpstreamTls upstreamTls, Map<String, BackendSpec> backends,
                                  List<Problem> problems) {
        String name = backendName(view, ref, ns, b, ri, pi, asked, upstreamTls, backends, problems);
        if (name != null && asked != null) {
            BackendSpec spec = backends.get(name);
            if (spec != null && spec.protocol() != asked) {
                problems.add(new Problem(ref, Reasons.CONFLICT, backendWhere(ri, pi) + ": backend " + name
                    + " is already spoken to in " + spec.protocol() + " (an older Ingress or the Service port's"
                    + " appProtocol decides); " + asked + " ignored for it"));
            }
        }
        return name;
    }

    private static String backendName(ClusterView view, ObjectRef ref, String ns, IngressBackend b, int ri, int pi,
                                      BackendProtocol asked, UpstreamTls upstreamTls,
                                      Map<String, BackendSpec> backends, List<Problem> problems) {
        BackendProtocol proto = asked == null ? BackendProtocol.HTTP : asked;
        if (b == null) {
            problems.add(new Problem(ref, Reasons.INVALID_BACKEND, backendWhere(ri, pi) + " is missing; path ignored"));
            return null;
        }
        TypedLocalObjectReference res = b.getResource();
        IngressServiceBackend svc = b.getService();
        if (res != null) {
            String name = "resource:" + ns + "/" + res.getKind() + "/" + res.getName();
            problems.add(new Problem(ref, Reasons.RESOURCE_BACKEND, backendWhere(ri, pi) + " is a resource backend ("
                + (res.getApiGroup() == null ? "" : res.getApiGroup() + "/") + res.getKind() + " " + res.getName()
                + "), which Sluice does not serve: requests to it get 503"));
            backends.putIfAbsent(name, BackendSpec.unresolved(name, proto));
            return name;
        }
        if (svc == null || svc.getName() == null || svc.getName().isEmpty()) {
            problems.add(new Problem(ref, Reasons.INVALID_BACKEND, backendWhere(ri, pi)
                + " names no service; path ignored"));
            return null;
        }
        ServiceBackendPort port = svc.getPort();
        boolean byNumber = port != null && port.getNumber() != null && port.getNumber() > 0;
        boolean byName = port != null && port.getName() != null && !port.getName().isEmpty();
        if (!byNumber && !byName) {
            problems.add(new Problem(ref, Reasons.INVALID_BACKEND, backendWhere(ri, pi) + ": service " + svc.getName()
                + " has no port number or name; path ignored"));
            return null;
        }
        String written = byNumber ? Integer.toString(port.getNumber()) : port.getName();
        Service service = view.service(ns, svc.getName());
        if (service == null) {
            String name = ns + "/" + svc.getName() + ":" + written;
            problems.add(new Problem(ref, Reasons.UNKNOWN_SERVICE, backendWhere(ri, pi) + ": Service " + ns + "/"
                + svc.getName()
                + " does not exist: requests get 503 until it does"));
            backends.putIfAbsent(name, BackendSpec.unresolved(name, proto));
            return name;
        }
        boolean external = service.getSpec() != null && "ExternalName".equals(service.getSpec().getType());
        List<ServicePort> ports = service.getSpec() == null || service.getSpec().getPorts() == null ? List.of()
            : service.getSpec().getPorts();
        ServicePort found = null;
        for (ServicePort sp : ports) {
            if (byNumber ? Objects.equals(sp.getPort(), port.getNumber()) : port.getName().equals(sp.getName())) {
                found = sp;
                break;
            }
        }
        Balancer balancer = balancer(service);
        String balancerProblem = balancerProblem(service);
        if (balancerProblem != null) {
            problems.add(new Problem(new ObjectRef("Service", ns, svc.getName()), Reasons.INVALID_OBJECT,
                "annotation " + BALANCER_ANNOTATION + ": " + balancerProblem + "; using round-robin"));
        }
        String externalName = external ? service.getSpec().getExternalName() : null;
        if (found == null) {
            if (external && byNumber) {
                String name = ns + "/" + svc.getName() + ":" + written;
                backends.putIfAbsent(name, new BackendSpec(name, true, ns, svc.getName(), "", port.getNumber(),
                    null, externalName, balancer, proto, proto.tls() ? upstreamTls : null));
                return name;
            }
            String name = ns + "/" + svc.getName() + ":" + written;
            problems.add(new Problem(ref, Reasons.UNKNOWN_SERVICE_PORT, backendWhere(ri, pi) + ": Service " + ns + "/"
                + svc.getName() + " has no port " + (byNumber ? written : "named '" + written + "'")
                + ": requests get 503"));
            backends.putIfAbsent(name, BackendSpec.unresolved(name, proto));
            return name;
        }
        String name = ns + "/" + svc.getName() + ":" + found.getPort();
        if (!backends.containsKey(name)) { // the first path to use it decides, as putIfAbsent would
            BackendProtocol chosen = asked != null ? asked : appProtocol(found.getAppProtocol());
            backends.put(name, new BackendSpec(name, true, ns, svc.getName(),
                found.getName() == null ? "" : found.getName(), found.getPort(), found.getTargetPort(), externalName,
                balancer, chosen, chosen.tls() ? upstreamTls : null));
        }
        return name;
    }

    /** {@code spec.defaultBackend}, or where a path's backend is. */
    private static String backendWhere(int ri, int pi) {
        return ri < 0 ? "spec.defaultBackend" : where(ri, pi) + ".backend";
    }

    /** The Ingress's backend-protocol annotation (ours wins over ingress-nginx's), or null when it has none. */
    private static BackendProtocol backendProtocol(Ingress ing, ObjectRef ref, List<Problem> problems) {
        Map<String, String> ann = ing.getMetadata().getAnnotations();
        if (ann == null) {
            return null;
        }
        String key = ann.containsKey(BACKEND_PROTOCOL_ANNOTATION) ? BACKEND_PROTOCOL_ANNOTATION
            : NGINX_BACKEND_PROTOCOL_ANNOTATION;
        String v = ann.get(key);
        if (v == null) {
            return null;
        }
        try {
            return BackendProtocol.valueOf(v.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation " + key + ": '" + v
                + "' is not one of HTTP, HTTPS, H2C, H2, GRPC, GRPCS; using HTTP"));
            return BackendProtocol.HTTP;
        }
    }

    /** A Service port's appProtocol (KEP-3726 standard names, and the plain ones) as a backend protocol. */
    static BackendProtocol appProtocol(String appProtocol) {
        if (appProtocol == null) {
            return BackendProtocol.HTTP;
        }
        return switch (appProtocol.toLowerCase(java.util.Locale.ROOT)) {
            case "kubernetes.io/h2c", "h2c" -> BackendProtocol.H2C;
            case "https" -> BackendProtocol.HTTPS;
            case "grpc" -> BackendProtocol.GRPC;
            default -> BackendProtocol.HTTP;
        };
    }

    private static Balancer balancer(Service s) {
        Map<String, String> ann = s.getMetadata().getAnnotations();
        String v = ann == null ? null : ann.get(BALANCER_ANNOTATION);
        if (v == null) {
            return Balancer.ROUND_ROBIN;
        }
        try {
            return Balancer.parse(v);
        } catch (IllegalArgumentException e) {
            return Balancer.ROUND_ROBIN; // reported through balancerProblem
        }
    }

    /** Problems of Services themselves (their annotations): reported once per Service that a backend uses. */
    static String balancerProblem(Service s) {
        Map<String, String> ann = s.getMetadata().getAnnotations();
        String v = ann == null ? null : ann.get(BALANCER_ANNOTATION);
        if (v == null) {
            return null;
        }
        try {
            Balancer.parse(v);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    // ------------------------------------------------------------------------------------------------------ TLS

    /** Merges spec.tls entries across Ingresses: one certificate per Secret, each host served by one Secret. */
    private static final class TlsMerge {
        private final Map<String, LinkedHashSet<String>> hostsBySecret = new TreeMap<>();
        private final Map<String, String[]> material = new HashMap<>();
        /** Host -> the Secret serving it, per key type (EC, RSA): a host may have one certificate of each. */
        private final Map<String, String> secretOfHost = new HashMap<>();
        private final Map<String, ObjectRef> ownerOfHost = new HashMap<>();
        private final Map<String, String> badSecrets = new HashMap<>();
        /** Options of each Secret's entry: from the oldest Ingress that names it. */
        private final Map<String, TlsOptions> optionsOfSecret = new HashMap<>();
        private final Map<String, ObjectRef> optionsOwner = new HashMap<>();
        private final Map<String, TlsCertificate> passthrough = new TreeMap<>();

        void addPassthrough(ObjectRef ref, List<String> hosts, TlsOptions options, List<Problem> problems) {
            List<String> mine = new ArrayList<>();
            for (String h : hosts) {
                String other = secretOfHost.get(h + "|EC");
                if (other == null) {
                    other = secretOfHost.get(h + "|RSA");
                }
                if (other == null) {
                    other = secretOfHost.putIfAbsent(h + "|EC", "passthrough " + ref);
                }
                if (other != null && !other.equals("passthrough " + ref)) {
                    problems.add(new Problem(ref, Reasons.TLS_CONFLICT, "ssl-passthrough: host '" + h
                        + "' is already served by " + other + " of the older " + ownerOfHost.get(h) + "; not passed"
                        + " through"));
                    continue;
                }
                secretOfHost.put(h + "|RSA", "passthrough " + ref);
                ownerOfHost.putIfAbsent(h, ref);
                mine.add(h);
            }
            if (!mine.isEmpty()) {
                Collections.sort(mine);
                String name = "passthrough/" + ref.namespace() + "/" + ref.name();
                passthrough.put(name, new TlsCertificate(name, mine, "", "", options));
            }
        }

        void add(ClusterView view, ObjectRef ref, String ns, IngressTLS t, String where, TlsOptions options,
                 List<Problem> problems) {
            if (t.getSecretName() == null || t.getSecretName().isEmpty()) {
                return; // SNI routing without a certificate of ours: nothing to load
            }
            String key = ns + "/" + t.getSecretName();
            if (!material.containsKey(key)) {
                String error = badSecrets.get(key);
                if (error == null) {
                    Secret s = view.secret(ns, t.getSecretName());
                    String[] pem = new String[3];
                    error = s == null ? "Secret " + key + " does not exist (or is not of type kubernetes.io/tls)"
                        : readTls(s, pem);
                    if (error == null) {
                        material.put(key, pem);
                    } else {
                        badSecrets.put(key, error);
                    }
                }
                if (error != null) {
                    problems.add(new Problem(ref, error.startsWith("Secret " + key + " does not exist")
                        ? Reasons.MISSING_SECRET : Reasons.INVALID_SECRET, where + ": " + error
                        + "; these hosts get no certificate from it"));
                    return;
                }
            }
            TlsOptions had = optionsOfSecret.putIfAbsent(key, options);
            if (had == null) {
                optionsOwner.put(key, ref);
            } else if (!had.equals(options)) {
                problems.add(new Problem(ref, Reasons.TLS_CONFLICT, where + ": Secret " + key + " is used by the"
                    + " older " + optionsOwner.get(key) + " with other TLS annotations; its settings apply"));
            }
            String keyType = material.get(key)[2];
            LinkedHashSet<String> hosts = hostsBySecret.computeIfAbsent(key, k -> new LinkedHashSet<>());
            List<String> tlsHosts = t.getHosts() == null || t.getHosts().isEmpty() ? List.of("") : t.getHosts();
            for (String h : tlsHosts) {
                String hostError = IngressRules.checkHost(h);
                if (hostError != null) {
                    problems.add(new Problem(ref, Reasons.INVALID_HOST, where + ": host '" + h + "' " + hostError
                        + "; ignored"));
                    continue;
                }
                String other = secretOfHost.get(h + "|" + keyType);
                if (other == null) {
                    secretOfHost.put(h + "|" + keyType, key);
                    ownerOfHost.putIfAbsent(h, ref);
                    if (!h.isEmpty()) {
                        hosts.add(h);
                    }
                } else if (!other.equals(key)) {
                    problems.add(new Problem(ref, Reasons.TLS_CONFLICT, where + ": "
                        + (h.isEmpty() ? "the default certificate" : "host '" + h + "'") + " is already served by "
                        + other + " (a " + keyType + " certificate) of the older " + ownerOfHost.get(h) + "; " + key
                        + " not used for it (one certificate per key type and host)"));
                }
            }
        }

        List<TlsCertificate> certificates() {
            List<TlsCertificate> out = new ArrayList<>();
            for (Map.Entry<String, LinkedHashSet<String>> e : hostsBySecret.entrySet()) {
                String key = e.getKey();
                boolean isDefault = key.equals(secretOfHost.get("|" + material.get(key)[2]));
                if (e.getValue().isEmpty() && !isDefault) {
                    continue; // every host it was listed for went to an older Secret
                }
                List<String> hosts = new ArrayList<>(e.getValue());
                Collections.sort(hosts);
                String[] pem = material.get(key);
                TlsOptions o = optionsOfSecret.getOrDefault(key, TlsOptions.INHERIT);
                if (isDefault && !hosts.isEmpty()) {
                    // The default certificate is a separate entry (no hosts); the named hosts keep theirs.
                    out.add(new TlsCertificate(key, hosts, pem[0], pem[1], o));
                    out.add(new TlsCertificate(key + "#default", List.of(), pem[0], pem[1], o));
                } else {
                    out.add(new TlsCertificate(key, hosts, pem[0], pem[1], o));
                }
            }
            out.addAll(passthrough.values());
            out.sort(Comparator.comparing(TlsCertificate::name));
            return List.copyOf(out);
        }
    }

    /** Reads tls.crt/tls.key (data, base64, or stringData) into pem[0], pem[1]; returns an error or null. */
    static String readTls(Secret s, String[] pem) {
        String key = s.getMetadata().getNamespace() + "/" + s.getMetadata().getName();
        if (s.getType() != null && !TLS_SECRET_TYPE.equals(s.getType())) {
            return "Secret " + key + " is of type " + s.getType() + ", not " + TLS_SECRET_TYPE;
        }
        String crt = field(s, "tls.crt");
        String k = field(s, "tls.key");
        if (crt == null || k == null) {
            return "Secret " + key + " lacks " + (crt == null ? "tls.crt" : "tls.key");
        }
        if (crt.startsWith("!")) {
            return "Secret " + key + ": tls.crt " + crt.substring(1);
        }
        if (k.startsWith("!")) {
            return "Secret " + key + ": tls.key " + k.substring(1);
        }
        try {
            Collection<? extends java.security.cert.Certificate> certs = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(crt.getBytes(StandardCharsets.US_ASCII)));
            if (certs.isEmpty()) {
                return "Secret " + key + ": tls.crt holds no certificate";
            }
            if (pem.length > 2) {
                pem[2] = certs.iterator().next().getPublicKey().getAlgorithm(); // EC or RSA: one of each per host
            }
        } catch (CertificateException e) {
            return "Secret " + key + ": tls.crt is not a PEM certificate chain (" + e.getMessage() + ")";
        }
        if (!k.contains("-----BEGIN") || !k.contains("PRIVATE KEY-----")) {
            return "Secret " + key + ": tls.key is not a PEM private key";
        }
        pem[0] = crt;
        pem[1] = k;
        return null;
    }

    /** A Secret field's text; "!reason" when it is there but unreadable; null when absent. */
    static String field(Secret s, String name) {
        if (s.getStringData() != null && s.getStringData().get(name) != null) {
            return s.getStringData().get(name);
        }
        if (s.getData() != null && s.getData().get(name) != null) {
            try {
                return new String(Base64.getMimeDecoder().decode(s.getData().get(name)), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return "!is not valid base64";
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ endpoint phase

    /**
     * Phase 2: the table for {@code plan} with each backend's current endpoints. Endpoints come from the Service's
     * EndpointSlices, from the port whose name matches the Service port's: ready endpoints serve; terminating ones
     * that are still serving are kept as {@link Endpoint#draining() draining} (no new requests, in-flight ones
     * finish); others are left out. An address listed by two slices (as happens while slices are rebalanced) is
     * kept once, not draining if either copy is not. ExternalName Services give one endpoint, the external name.
     */
    public RouteTable resolveEndpoints(RoutePlan plan, ClusterView view, long generation) {
        List<BackendSpec> specs = plan.backends();
        List<Backend> backends = new ArrayList<>(specs.size());
        Map<String, CachedEndpoints> nextCache = new HashMap<>(specs.size() * 2);
        for (BackendSpec spec : specs) {
            List<Endpoint> eps;
            if (!spec.resolved() || spec.externalName() != null) {
                eps = endpoints(spec, List.of());
            } else {
                Collection<EndpointSlice> slices = view.endpointSlices(spec.namespace(), spec.service());
                CachedEndpoints cached = endpointCache.get(spec.name());
                if (cached != null && cached.portName().equals(spec.portName()) && cached.sameSlices(slices)) {
                    eps = cached.endpoints();
                    nextCache.put(spec.name(), cached);
                } else {
                    EndpointSlice[] used = slices.toArray(new EndpointSlice[0]);
                    eps = endpoints(spec, Arrays.asList(used));
                    nextCache.put(spec.name(), new CachedEndpoints(spec.portName(), used, eps));
                }
            }
            backends.add(new Backend(spec.name(), spec.balancer(), eps, spec.protocol(), spec.upstreamTls()));
        }
        endpointCache = nextCache;
        return new RouteTable(generation, plan.hosts(), backends, plan.defaultBackend(), plan.tls())
            .withL4(l4.resolveEndpoints(view));
    }

    /**
     * The endpoints computed for a backend from exactly these slice objects. Slices are immutable snapshots that the
     * state replaces on every change, so "the same slice instances" means "the same endpoints": an endpoint-only
     * compile recomputes only the backends whose slices changed.
     */
    private record CachedEndpoints(String portName, EndpointSlice[] slices, List<Endpoint> endpoints) {
        boolean sameSlices(Collection<EndpointSlice> now) {
            if (now.size() != slices.length) {
                return false;
            }
            int i = 0;
            for (EndpointSlice s : now) {
                if (i >= slices.length || s != slices[i++]) {
                    return false;
                }
            }
            return i == slices.length;
        }
    }

    static List<Endpoint> endpoints(BackendSpec spec, Collection<EndpointSlice> slices) {
        if (!spec.resolved()) {
            return List.of();
        }
        if (spec.externalName() != null) {
            IntOrString tp = spec.targetPort();
            int port = tp != null && tp.getIntVal() != null && tp.getIntVal() > 0 ? tp.getIntVal() : spec.port();
            return List.of(new Endpoint(spec.externalName().toLowerCase(java.util.Locale.ROOT), port));
        }
        return sliceEndpoints(spec.portName(), "TCP", slices);
    }

    /**
     * The endpoints of the slice port named {@code portName} with {@code protocol} (TCP for Ingress backends; TCP or
     * UDP for L4 Services): ready ones, and terminating-but-serving ones as draining; sorted, each address once.
     */
    static List<Endpoint> sliceEndpoints(String portName, String protocol, Collection<EndpointSlice> slices) {
        if (slices.isEmpty()) {
            return List.of();
        }
        Map<String, Endpoint> byAddress = new LinkedHashMap<>();
        for (EndpointSlice slice : slices) {
            if (slice.getPorts() == null || slice.getEndpoints() == null) {
                continue;
            }
            Integer portNumber = null;
            for (EndpointPort p : slice.getPorts()) {
                String n = p.getName() == null ? "" : p.getName();
                boolean sameProtocol = protocol.equals(p.getProtocol() == null ? "TCP" : p.getProtocol());
                if (sameProtocol && n.equals(portName) && p.getPort() != null) {
                    portNumber = p.getPort();
                    break;
                }
            }
            if (portNumber == null || portNumber < 1 || portNumber > 65535) {
                continue;
            }
            for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint e : slice.getEndpoints()) {
                if (e.getAddresses() == null || e.getAddresses().isEmpty()) {
                    continue;
                }
                EndpointConditions c = e.getConditions();
                // API semantics: nil ready/serving mean "unknown, treat as ready"; nil terminating means false.
                boolean ready = c == null || c.getReady() == null || c.getReady();
                boolean serving = c == null || c.getServing() == null ? ready : c.getServing();
                boolean terminating = c != null && c.getTerminating() != null && c.getTerminating();
                boolean draining;
                if (terminating) {
                    if (!serving) {
                        continue;
                    }
                    draining = true;
                } else if (ready) {
                    draining = false;
                } else {
                    continue;
                }
                String address = e.getAddresses().get(0); // addresses are fungible: the API says use the first
                String key = address + "\u0000" + portNumber;
                Endpoint prev = byAddress.get(key);
                if (prev == null || (prev.draining() && !draining)) {
                    byAddress.put(key, new Endpoint(address, portNumber, 1, draining));
                }
            }
        }
        List<Endpoint> out = new ArrayList<>(byAddress.values());
        if (out.size() > 1) {
            out.sort(ENDPOINT_ORDER);
        }
        return List.copyOf(out);
    }
}
