package io.sluice.agent;

import static io.sluice.agent.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Ingress matching rules, written a second time, plainly and straight from the Kubernetes documentation, over the
 * raw Ingress objects; compared with what the compiled table routes to, for many generated route sets and requests.
 *
 * <p>The reference: an Ingress is ours if its class is ours. A request's host picks the rules of the most specific
 * host that has any valid rule: the exact host, else a {@code *.} wildcard matching exactly one label, else rules
 * without host. Among that host's valid paths of all our Ingresses, those that match (Exact: the whole path;
 * Prefix/ImplementationSpecific: element by element, trailing slash ignored) compete: the longest path wins, then
 * Exact over Prefix, then the oldest Ingress (creationTimestamp, namespace, name), then the first in that Ingress. No
 * match: the default backend of the oldest Ingress that has one, else 404.
 *
 * <p>It also checks the compiled rule order: the first matching rule in each host's list is the best one, so a data
 * plane may match in list order.
 */
class ReferenceModelTest {
    private static final String[] HOSTS = {"", "foo.com", "bar.foo.com", "*.foo.com", "x.bar.com", "*.bar.com",
        "*.x.bar.com"};
    private static final String[] PATHS = {"/", "/a", "/a/", "/a/b", "/ab", "/a/b/c", "/b", "/a/b/", "/a/bc",
        "//bad", "/a/./b", "/c/"};
    private static final String[] TYPES = {"Exact", "Prefix", "ImplementationSpecific", "Prefix", "Exact"};
    private static final String[] TIMES = {"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z",
        "2023-06-01T12:00:00Z", null};
    private static final String[] REQUEST_HOSTS = {"foo.com", "bar.foo.com", "y.foo.com", "a.b.foo.com", "x.bar.com",
        "z.bar.com", "q.x.bar.com", "other.org", "FOO.com"};
    private static final String[] REQUEST_PATHS = {"/", "/a", "/a/", "/a/b", "/a/bc", "/ab", "/a/b/c", "/a/b/c/d",
        "/b/", "/b", "/c", "/c/", "/A", "/a/b/"};

    record Svc(String name, int port) {
    }

    private static final Svc[] SERVICES = {new Svc("s1", 80), new Svc("s2", 80), new Svc("s3", 8080),
        new Svc("s4", 80)};

    @Test
    void compiledTablesRouteLikeTheReference() {
        SplittableRandom rnd = new SplittableRandom(20240601);
        int compared = 0;
        for (int set = 0; set < 600; set++) {
            ClusterState state = new ClusterState();
            state.upsert(ourClass());
            state.upsert(ingressClass("other", "example.com/other", false));
            state.upsert(service("ns1", "s1", port("http", 80, 8080)));
            state.upsert(service("ns1", "s2", port("http", 80, 8080)));
            state.upsert(service("ns1", "s3", port("admin", 8080, 9090), port("http", 80, 8080)));
            state.upsert(service("ns2", "s1", port("http", 80, 8080)));
            state.upsert(service("ns2", "s4", port("http", 80, 8080)));
            List<Ingress> ingresses = generate(rnd);
            for (Ingress i : ingresses) {
                state.upsert(i);
            }
            RouteTable table = new IngressCompiler().compile(state, 1);
            TableMatcher m = new TableMatcher(table);
            for (VirtualHost vh : table.hosts()) {
                for (String p : REQUEST_PATHS) {
                    assertEquals(m.best(vh.host().replace("*", "w"), p), m.first(vh.host().replace("*", "w"), p),
                        "rule order of host " + vh.host() + " for " + p);
                }
            }
            for (String h : REQUEST_HOSTS) {
                for (String p : REQUEST_PATHS) {
                    String expected = reference(ingresses, h, p);
                    String actual = m.backend(h, p);
                    String context = "set " + set + ", request " + h + p + "\ningresses:\n" + describe(ingresses)
                        + "table: " + table.hosts();
                    assertEquals(expected, actual, context);
                    compared++;
                }
            }
        }
        assertTrue(compared > 50_000);
    }

    private static List<Ingress> generate(SplittableRandom rnd) {
        int n = 1 + rnd.nextInt(8);
        List<Ingress> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String ns = rnd.nextBoolean() ? "ns1" : "ns2";
            Fixtures.Ing ing = ingress(ns, "ing" + i).created(TIMES[rnd.nextInt(TIMES.length)]);
            if (rnd.nextInt(8) == 0) {
                ing.className("other");
            }
            if (rnd.nextInt(6) == 0) {
                ing.defaultBackend(backend(rnd, ns));
            }
            int rules = 1 + rnd.nextInt(3);
            for (int r = 0; r < rules; r++) {
                int paths = 1 + rnd.nextInt(4);
                HTTPIngressPath[] ps = new HTTPIngressPath[paths];
                for (int p = 0; p < paths; p++) {
                    ps[p] = path(TYPES[rnd.nextInt(TYPES.length)], PATHS[rnd.nextInt(PATHS.length)],
                        backend(rnd, ns));
                }
                ing.rule(HOSTS[rnd.nextInt(HOSTS.length)], ps);
            }
            out.add(ing.build());
        }
        return out;
    }

    private static IngressBackend backend(SplittableRandom rnd, String ns) {
        Svc s = SERVICES[rnd.nextInt(SERVICES.length)];
        if (ns.equals("ns1") && s.name().equals("s4") || ns.equals("ns2") && !s.name().equals("s1")
                && !s.name().equals("s4")) {
            // A service that does not exist in this namespace: an unknown-service backend (503), still a route.
            return svc(s.name(), s.port());
        }
        return rnd.nextBoolean() ? svc(s.name(), s.port()) : svc(s.name(), s.port() == 8080 ? "admin" : "http");
    }

    // ------------------------------------------------------------------------------------------------ reference

    private record Candidate(Ingress ingress, int order, String type, String path, IngressBackend backend) {
    }

    static String reference(List<Ingress> all, String requestHost, String requestPath) {
        String host = requestHost.toLowerCase(java.util.Locale.ROOT);
        List<Ingress> ours = all.stream().filter(i -> "sluice".equals(i.getSpec().getIngressClassName()))
            .sorted(ReferenceModelTest::olderFirst).toList();

        List<Candidate> exact = candidates(ours, h -> h.equals(host));
        List<Candidate> chosen = exact;
        if (chosen.isEmpty()) {
            chosen = candidates(ours, h -> h.startsWith("*.") && host.indexOf('.') > 0
                && host.substring(host.indexOf('.') + 1).equals(h.substring(2)));
        }
        if (chosen.isEmpty()) {
            chosen = candidates(ours, String::isEmpty);
        }
        Candidate best = null;
        for (Candidate c : chosen) {
            if (!matches(c, requestPath)) {
                continue;
            }
            if (best == null || beats(c, best)) {
                best = c;
            }
        }
        if (best != null) {
            return backendName(best.ingress(), best.backend());
        }
        for (Ingress i : ours) {
            if (i.getSpec().getDefaultBackend() != null) {
                return "default:" + backendName(i, i.getSpec().getDefaultBackend());
            }
        }
        return null;
    }

    private static int olderFirst(Ingress a, Ingress b) {
        String ta = a.getMetadata().getCreationTimestamp();
        String tb = b.getMetadata().getCreationTimestamp();
        // Same format everywhere, so the strings order as the instants; no timestamp sorts last.
        int c = ta == null ? (tb == null ? 0 : 1) : tb == null ? -1 : ta.compareTo(tb);
        if (c != 0) {
            return c;
        }
        c = a.getMetadata().getNamespace().compareTo(b.getMetadata().getNamespace());
        return c != 0 ? c : a.getMetadata().getName().compareTo(b.getMetadata().getName());
    }

    private static List<Candidate> candidates(List<Ingress> ours, java.util.function.Predicate<String> hostMatch) {
        List<Candidate> out = new ArrayList<>();
        int order = 0;
        for (Ingress i : ours) {
            for (IngressRule r : i.getSpec().getRules() == null ? List.<IngressRule>of() : i.getSpec().getRules()) {
                String h = r.getHost() == null ? "" : r.getHost();
                if (!hostMatch.test(h)) {
                    continue;
                }
                for (HTTPIngressPath p : r.getHttp().getPaths()) {
                    if (valid(p.getPath())) {
                        out.add(new Candidate(i, order++, p.getPathType(), p.getPath(), p.getBackend()));
                    }
                }
            }
        }
        return out;
    }

    private static boolean valid(String path) {
        return path.startsWith("/") && !path.contains("//") && !path.contains("/./");
    }

    private static List<String> elements(String path) {
        return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
    }

    private static boolean matches(Candidate c, String requestPath) {
        if (c.type().equals("Exact")) {
            return c.path().equals(requestPath);
        }
        List<String> rule = elements(c.path());
        List<String> req = elements(requestPath);
        return req.size() >= rule.size() && req.subList(0, rule.size()).equals(rule);
    }

    private static int length(Candidate c) {
        if (c.type().equals("Exact")) {
            return c.path().length();
        }
        String p = c.path();
        return p.length() > 1 && p.endsWith("/") ? p.length() - 1 : p.length();
    }

    private static boolean beats(Candidate a, Candidate b) {
        if (length(a) != length(b)) {
            return length(a) > length(b);
        }
        boolean ae = a.type().equals("Exact");
        boolean be = b.type().equals("Exact");
        if (ae != be) {
            return ae;
        }
        return a.order() < b.order(); // same path and type: the older Ingress, then the earlier path
    }

    private static String backendName(Ingress i, IngressBackend b) {
        String ns = i.getMetadata().getNamespace();
        String svc = b.getService().getName();
        var port = b.getService().getPort();
        boolean exists = ns.equals("ns1") ? !svc.equals("s4") : svc.equals("s1") || svc.equals("s4");
        if (!exists) {
            return ns + "/" + svc + ":" + (port.getNumber() != null ? port.getNumber() : port.getName());
        }
        int number = port.getNumber() != null ? port.getNumber() : port.getName().equals("admin") ? 8080 : 80;
        return ns + "/" + svc + ":" + number;
    }

    private static String describe(List<Ingress> ingresses) {
        StringBuilder sb = new StringBuilder();
        for (Ingress i : ingresses) {
            sb.append("  ").append(i.getMetadata().getNamespace()).append('/').append(i.getMetadata().getName())
                .append(" class=").append(i.getSpec().getIngressClassName())
                .append(" created=").append(i.getMetadata().getCreationTimestamp());
            if (i.getSpec().getDefaultBackend() != null) {
                sb.append(" default=").append(i.getSpec().getDefaultBackend().getService().getName());
            }
            sb.append('\n');
            for (IngressRule r : i.getSpec().getRules()) {
                for (HTTPIngressPath p : r.getHttp().getPaths()) {
                    sb.append("    ").append(r.getHost()).append(' ').append(p.getPathType()).append(' ')
                        .append(p.getPath()).append(" -> ").append(p.getBackend().getService().getName()).append(':')
                        .append(p.getBackend().getService().getPort().getNumber() != null
                            ? p.getBackend().getService().getPort().getNumber()
                            : p.getBackend().getService().getPort().getName()).append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** Keeps PathRule referenced for readers of the failure messages. */
    static String show(PathRule r) {
        return r.path() + " " + r.type();
    }
}
