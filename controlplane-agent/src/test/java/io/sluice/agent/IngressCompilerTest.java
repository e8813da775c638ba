package io.sluice.agent;

import static io.sluice.agent.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackendBuilder;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.Reasons;
import io.sluice.agent.compile.RoutePlan;
import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.fabric8.kubernetes.api.model.Secret;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IngressCompilerTest {
    private final ClusterState state = new ClusterState();
    private final IngressCompiler compiler = new IngressCompiler();

    private void add(HasMetadata... objects) {
        for (HasMetadata o : objects) {
            state.upsert(o);
        }
    }

    private void web() {
        add(ourClass(), service("shop", "web", port("http", 80, 8080)),
            slice("shop", "web-1", "web", "http", 8080, ready("10.0.0.1"), ready("10.0.0.2")));
    }

    private RouteTable table() {
        return compiler.compile(state, 1);
    }

    private List<Problem> problems() {
        return compiler.compileRoutes(state).problems();
    }

    private static VirtualHost host(RouteTable t, String name) {
        return t.hosts().stream().filter(h -> h.host().equals(name)).findFirst().orElseThrow(
            () -> new AssertionError("no host " + name + " in " + t.hosts()));
    }

    private static Problem only(List<Problem> problems, String reason) {
        List<Problem> matching = problems.stream().filter(p -> p.reason().equals(reason)).toList();
        assertEquals(1, matching.size(), () -> "expected one " + reason + " in " + problems);
        return matching.get(0);
    }

    @Test
    void compilesAnIngressWithServicePortAndEndpoints() {
        web();
        add(ingress("shop", "web").rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(List.of(new PathRule("/", PathType.PREFIX, 0, "ingress shop/web")),
            host(t, "shop.example.com").paths());
        assertEquals(List.of(new Backend("shop/web:80", Balancer.ROUND_ROBIN,
            List.of(new Endpoint("10.0.0.1", 8080), new Endpoint("10.0.0.2", 8080)))), t.backends());
        assertEquals(-1, t.defaultBackend());
        assertTrue(problems().isEmpty(), problems()::toString);
    }

    @Test
    void portByNameAndByNumberAreTheSameBackend() {
        web();
        add(ingress("shop", "a").rule("a.example.com", path("Prefix", "/", svc("web", "http"))).build(),
            ingress("shop", "b").rule("b.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(1, t.backends().size());
        assertEquals("shop/web:80", t.backends().get(0).name());
    }

    @Test
    void endpointSlicePortIsMatchedByServicePortName() {
        add(ourClass(), service("shop", "web", port("http", 80, 8080), port("admin", 81, 9090)),
            slice("shop", "web-http", "web", "http", 8080, ready("10.0.0.1")),
            slice("shop", "web-admin", "web", "admin", 9090, ready("10.0.0.1")));
        add(ingress("shop", "web").rule("x.example.com", path("Prefix", "/", svc("web", "admin"))).build());
        assertEquals(List.of(new Endpoint("10.0.0.1", 9090)), table().backends().get(0).endpoints());
    }

    @Test
    void readyServingTerminating() {
        add(ourClass(), service("shop", "web", port("http", 80, 8080)),
            slice("shop", "web-1", "web", "http", 8080,
                ep("10.0.0.1", true, true, false),      // ready
                ep("10.0.0.2", false, true, true),      // terminating but serving: draining
                ep("10.0.0.3", false, false, true),     // terminating, not serving: gone
                ep("10.0.0.4", false, false, false),    // not ready: out
                ep("10.0.0.5", null, null, null)),      // unknown: ready, as the API says
            slice("shop", "web-2", "web", "http", 8080,
                ep("10.0.0.2", true, true, false)));    // the same address ready in another slice wins
        add(ingress("shop", "web").rule("x.example.com", path("Prefix", "/", svc("web", 80))).build());
        assertEquals(List.of(new Endpoint("10.0.0.1", 8080), new Endpoint("10.0.0.2", 8080),
            new Endpoint("10.0.0.5", 8080)), table().backends().get(0).endpoints());

        add(slice("shop", "web-2", "web", "http", 8080)); // web-2 emptied: 10.0.0.2 only terminating now
        assertEquals(List.of(new Endpoint("10.0.0.1", 8080), new Endpoint("10.0.0.2", 8080, 1, true),
            new Endpoint("10.0.0.5", 8080)), table().backends().get(0).endpoints());
    }

    @Test
    void externalNameServiceIsOneEndpoint() {
        add(ourClass(), externalService("shop", "ext", "Api.Example.net"));
        add(ingress("shop", "web").rule("x.example.com", path("Prefix", "/", svc("ext", 443))).build());
        assertEquals(List.of(new Endpoint("api.example.net", 443)), table().backends().get(0).endpoints());
        assertTrue(problems().isEmpty(), problems()::toString);
    }

    @Test
    void pathTypesAndNormalisation() {
        web();
        add(ingress("shop", "web").rule("x.example.com",
            path("Exact", "/healthz", svc("web", 80)),
            path("Prefix", "/api/", svc("web", 80)),
            path("ImplementationSpecific", "/static/*", svc("web", 80)),
            path("ImplementationSpecific", "/img", svc("web", 80)),
            path("Exact", "/exact/", svc("web", 80))).build());
        assertEquals(List.of(
                new PathRule("/healthz", PathType.EXACT, 0, "ingress shop/web"),
                new PathRule("/exact/", PathType.EXACT, 0, "ingress shop/web"),
                new PathRule("/static", PathType.PREFIX, 0, "ingress shop/web"),
                new PathRule("/api", PathType.PREFIX, 0, "ingress shop/web"),
                new PathRule("/img", PathType.PREFIX, 0, "ingress shop/web")),
            host(table(), "x.example.com").paths());
    }

    @Test
    void precedenceOrderIsLongestFirstExactBeforePrefix() {
        web();
        add(ingress("shop", "web").rule("x.example.com",
            path("Prefix", "/", svc("web", 80)),
            path("Prefix", "/foo", svc("web", 80)),
            path("Exact", "/foo", svc("web", 80)),
            path("Prefix", "/foo/bar", svc("web", 80))).build());
        List<PathRule> rules = host(table(), "x.example.com").paths();
        assertEquals(List.of("/foo/bar PREFIX", "/foo EXACT", "/foo PREFIX", "/ PREFIX"),
            rules.stream().map(r -> r.path() + " " + r.type()).toList());
    }

    @Test
    void rulesOfManyIngressesMergePerHostAndHostsAreSeparate() {
        web();
        add(service("shop", "api", port("http", 80, 8080)));
        add(ingress("shop", "a").rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "b").rule("shop.example.com", path("Prefix", "/api", svc("api", 80)))
                .rule("*.example.com", path("Prefix", "/", svc("web", 80)))
                .rule("", path("Exact", "/ping", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(List.of("", "*.example.com", "shop.example.com"), t.hosts().stream().map(VirtualHost::host).toList());
        assertEquals(2, host(t, "shop.example.com").paths().size());
        TableMatcher m = new TableMatcher(t);
        assertEquals("shop/api:80", m.backend("shop.example.com", "/api/v1"));
        assertEquals("shop/web:80", m.backend("shop.example.com", "/apix"));
        assertEquals("shop/web:80", m.backend("other.example.com", "/anything"));
        assertEquals("shop/web:80", m.backend("nothing.org", "/ping"));
        assertNull(m.backend("a.b.example.com", "/"), "a wildcard stands for one label only");
    }

    @Test
    void conflictsResolveOldestFirstThenNamespaceName() {
        web();
        add(service("shop", "api", port("http", 80, 8080)), service("aaa", "api", port("http", 80, 8080)));
        add(ingress("shop", "new").created("2024-05-01T00:00:00Z")
                .rule("x.example.com", path("Prefix", "/a/", svc("api", 80))).build(),
            ingress("shop", "old").created("2024-01-01T00:00:00Z")
                .rule("x.example.com", path("Prefix", "/a", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals("shop/web:80", new TableMatcher(t).backend("x.example.com", "/a/b"));
        Problem p = only(problems(), Reasons.CONFLICT);
        assertEquals("Ingress shop/new", p.object().toString());
        assertTrue(p.message().contains("Ingress shop/old"), p.message());

        // Same timestamp: namespace/name decides; "aaa/z" sorts before "shop/old".
        add(ingress("aaa", "z").created("2024-01-01T00:00:00Z")
            .rule("x.example.com", path("Prefix", "/a", svc("api", 80))).build());
        assertEquals("aaa/api:80", new TableMatcher(table()).backend("x.example.com", "/a"));
        assertTrue(problems().stream().anyMatch(q -> q.object().toString().equals("Ingress shop/old")
            && q.reason().equals(Reasons.CONFLICT)));
    }

    @Test
    void exactAndPrefixOnTheSamePathDoNotConflict() {
        web();
        add(ingress("shop", "a").rule("x.example.com", path("Exact", "/a", svc("web", 80))).build(),
            ingress("shop", "b").rule("x.example.com", path("Prefix", "/a", svc("web", 80))).build());
        assertEquals(2, host(table(), "x.example.com").paths().size());
        assertTrue(problems().isEmpty(), problems()::toString);
    }

    @Test
    void duplicatePathInOneIngress() {
        web();
        add(ingress("shop", "a").rule("x.example.com", path("Prefix", "/a", svc("web", 80)),
            path("Prefix", "/a/", svc("web", 80))).build());
        assertEquals(1, host(table(), "x.example.com").paths().size());
        only(problems(), Reasons.DUPLICATE_PATH);
    }

    @Test
    void defaultBackendOldestWins() {
        web();
        add(service("shop", "fallback", port("http", 80, 8080)));
        add(ingress("shop", "d1").created("2024-02-01T00:00:00Z").defaultBackend(svc("web", 80)).build(),
            ingress("shop", "d0").created("2024-01-01T00:00:00Z").defaultBackend(svc("fallback", 80)).build());
        RouteTable t = table();
        assertEquals("shop/fallback:80", t.backends().get(t.defaultBackend()).name());
        assertEquals("Ingress shop/d1", only(problems(), Reasons.DEFAULT_BACKEND_CONFLICT).object().toString());
        assertEquals("default:shop/fallback:80", new TableMatcher(t).backend("any.host", "/x"));
    }

    @Test
    void unknownServiceAndPortKeepTheRuleWithNoEndpoints() {
        web();
        add(ingress("shop", "a").rule("x.example.com",
            path("Prefix", "/missing", svc("nope", 80)),
            path("Prefix", "/badport", svc("web", 81)),
            path("Prefix", "/badname", svc("web", "grpc")),
            path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        TableMatcher m = new TableMatcher(t);
        assertEquals("shop/nope:80", m.backend("x.example.com", "/missing/x"), "no fall-through to /");
        assertEquals("shop/web:81", m.backend("x.example.com", "/badport"));
        assertEquals("shop/web:grpc", m.backend("x.example.com", "/badname"));
        for (Backend b : t.backends()) {
            assertEquals(b.name().equals("shop/web:80"), !b.endpoints().isEmpty(), b.name());
        }
        List<Problem> ps = problems();
        assertTrue(only(ps, Reasons.UNKNOWN_SERVICE).message().contains("shop/nope"));
        assertEquals(2, ps.stream().filter(p -> p.reason().equals(Reasons.UNKNOWN_SERVICE_PORT)).count());

        // The Service appears: the problem goes, endpoints come.
        add(service("shop", "nope", port("", 80, 80)), slice("shop", "nope-1", "nope", "", 80, ready("10.1.1.1")));
        assertFalse(problems().stream().anyMatch(p -> p.reason().equals(Reasons.UNKNOWN_SERVICE)));
        assertEquals(List.of(new Endpoint("10.1.1.1", 80)), table().backends().stream()
            .filter(b -> b.name().equals("shop/nope:80")).findFirst().orElseThrow().endpoints());
    }

    @Test
    void resourceBackendIsReportedAndAnswers503() {
        web();
        add(ingress("shop", "a").rule("x.example.com", path("Prefix", "/bucket", new IngressBackendBuilder()
            .withNewResource("k8s.example.com", "StorageBucket", "assets").build())).build());
        RouteTable t = table();
        assertTrue(t.backends().get(host(t, "x.example.com").paths().get(0).backend()).endpoints().isEmpty());
        only(problems(), Reasons.RESOURCE_BACKEND);
    }

    @Test
    void badPathsAndHostsAreDroppedAndReported() {
        web();
        add(ingress("shop", "a")
            .rule("x.example.com",
                path("Prefix", "relative", svc("web", 80)),
                path("Prefix", "/a//b", svc("web", 80)),
                path("Exact", "/a/../b", svc("web", 80)),
                path("Prefix", "/x/.", svc("web", 80)),
                path("Prefix", "/a%2fb", svc("web", 80)),
                path("Prefix", "/with space", svc("web", 80)),
                path("ImplementationSpecific", "/api/(.*)", svc("web", 80)),
                path(null, "/typeless", svc("web", 80)),
                path("Regex", "/r", svc("web", 80)),
                path("Prefix", "/ok", svc("web", 80)))
            .rule("Upper.Example.com", path("Prefix", "/", svc("web", 80)))
            .rule("a.*.example.com", path("Prefix", "/", svc("web", 80)))
            .rule("10.0.0.1", path("Prefix", "/", svc("web", 80)))
            .build());
        RouteTable t = table();
        assertEquals(1, t.hosts().size());
        assertEquals(List.of("/ok"), host(t, "x.example.com").paths().stream().map(PathRule::path).toList());
        List<Problem> ps = problems();
        assertEquals(7, ps.stream().filter(p -> p.reason().equals(Reasons.INVALID_PATH)).count(), ps::toString);
        assertEquals(2, ps.stream().filter(p -> p.reason().equals(Reasons.INVALID_PATH_TYPE)).count());
        assertEquals(3, ps.stream().filter(p -> p.reason().equals(Reasons.INVALID_HOST)).count());
        assertTrue(ps.stream().allMatch(p -> p.object().toString().equals("Ingress shop/a")));
        assertTrue(ps.stream().anyMatch(p -> p.message().contains("spec.rules[0].http.paths[1]")
            && p.message().contains("'//'")), ps::toString);
    }

    @Test
    void ingressClassSelection() {
        web();
        add(ingressClass("nginx", "k8s.io/ingress-nginx", false));
        add(ingress("shop", "by-class").rule("a.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "other-class").className("nginx")
                .rule("b.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "unknown-class").className("nope")
                .rule("c.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "legacy").className(null).annotate(IngressCompiler.LEGACY_CLASS_ANNOTATION, "sluice")
                .rule("d.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "legacy-other").className(null).annotate(IngressCompiler.LEGACY_CLASS_ANNOTATION, "nginx")
                .rule("e.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "classless").className(null)
                .rule("f.example.com", path("Prefix", "/", svc("web", 80))).build());
        assertEquals(Set.of("a.example.com", "d.example.com"), hosts(table()));

        // Our class becomes the default: class-less Ingresses are ours too.
        add(ingressClass("sluice", IngressCompiler.CONTROLLER, true));
        assertEquals(Set.of("a.example.com", "d.example.com", "f.example.com"), hosts(table()));

        // Another controller's default class does not make them ours.
        add(ingressClass("sluice", IngressCompiler.CONTROLLER, false), ingressClass("nginx", "k8s.io/ingress-nginx", true));
        assertEquals(Set.of("a.example.com", "d.example.com"), hosts(table()));

        // --watch-ingress-without-class
        IngressCompiler lenient = new IngressCompiler(new IngressCompiler.Options(IngressCompiler.CONTROLLER,
            Set.of("sluice"), true));
        assertEquals(Set.of("a.example.com", "d.example.com", "f.example.com"),
            hosts(lenient.compile(state, 1)));

        // The class's controller changes away from us: its Ingresses are dropped.
        add(ingressClass("sluice", "example.com/other", false));
        assertEquals(Set.of("d.example.com"), hosts(table()));
    }

    @Test
    void legacyAnnotationNamingOurIngressClassAndBothSet() {
        web();
        add(ingressClass("edge", IngressCompiler.CONTROLLER, false));
        add(ingress("shop", "a").className(null).annotate(IngressCompiler.LEGACY_CLASS_ANNOTATION, "edge")
                .rule("a.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "both").className("sluice").annotate(IngressCompiler.LEGACY_CLASS_ANNOTATION, "sluice")
                .rule("b.example.com", path("Prefix", "/", svc("web", 80))).build());
        assertEquals(Set.of("a.example.com", "b.example.com"), hosts(table()));
        assertEquals("Ingress shop/both", only(problems(), Reasons.INVALID_CLASS).object().toString());
    }

    private static Set<String> hosts(RouteTable t) {
        return Set.copyOf(t.hosts().stream().map(VirtualHost::host).toList());
    }

    @Test
    void tlsSecretsBecomeCertificates() {
        web();
        add(tlsSecret("shop", "shop-tls"), tlsSecret("shop", "other-tls"));
        add(ingress("shop", "a").created("2024-01-01T00:00:00Z").tls("shop-tls", "shop.example.com", "*.shop.example.com")
                .rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "b").created("2024-02-01T00:00:00Z").tls("other-tls", "shop.example.com", "b.example.com")
                .tls("shop-tls", "c.example.com")
                .rule("b.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(2, t.tls().size());
        assertEquals("shop/other-tls", t.tls().get(0).name());
        assertEquals(List.of("b.example.com"), t.tls().get(0).hosts());
        assertEquals("shop/shop-tls", t.tls().get(1).name());
        assertEquals(List.of("*.shop.example.com", "c.example.com", "shop.example.com"), t.tls().get(1).hosts());
        assertEquals(testCertificate(), t.tls().get(1).certificateChainPem());
        assertEquals(testKey(), t.tls().get(1).privateKeyPem());
        Problem conflict = only(problems(), Reasons.TLS_CONFLICT);
        assertEquals("Ingress shop/b", conflict.object().toString());
        assertFalse(t.tls().get(1).toString().contains("PRIVATE"), "toString never shows the key");
    }

    @Test
    void tlsAnnotationsDualKeyTypesPassthroughAndUpstreamTls() {
        web();
        Secret rsa = new SecretBuilder().withNewMetadata().withNamespace("shop").withName("shop-rsa").endMetadata()
            .withType("kubernetes.io/tls").withStringData(Map.of("tls.crt", Fixtures.resource("/tls/test-rsa.crt"),
                "tls.key", Fixtures.resource("/tls/test-rsa.key"))).build();
        Secret ca = new SecretBuilder().withNewMetadata().withNamespace("shop").withName("clients").endMetadata()
            .withType("kubernetes.io/tls").withStringData(Map.of("ca.crt", testCertificate(), "tls.crt",
                testCertificate(), "tls.key", testKey())).build();
        add(tlsSecret("shop", "shop-ec"), rsa, ca);
        add(ingress("shop", "a").created("2024-01-01T00:00:00Z")
                .annotate("nginx.ingress.kubernetes.io/ssl-redirect", "false")
                .annotate("sluice.io/hsts", "max-age=600")
                .annotate("sluice.io/ssl-protocols", "TLSv1.3")
                .annotate("nginx.ingress.kubernetes.io/auth-tls-secret", "shop/clients")
                .annotate("nginx.ingress.kubernetes.io/auth-tls-verify-client", "optional")
                .tls("shop-ec", "shop.example.com").tls("shop-rsa", "shop.example.com")
                .rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "p").created("2024-01-02T00:00:00Z")
                .annotate("nginx.ingress.kubernetes.io/ssl-passthrough", "true")
                .rule("db.example.com", path("Prefix", "/", svc("web", 80))).build(),
            ingress("shop", "u").created("2024-01-03T00:00:00Z")
                .annotate("nginx.ingress.kubernetes.io/backend-protocol", "HTTPS")
                .annotate("nginx.ingress.kubernetes.io/proxy-ssl-secret", "shop/clients")
                .annotate("nginx.ingress.kubernetes.io/proxy-ssl-verify", "on")
                .annotate("nginx.ingress.kubernetes.io/proxy-ssl-name", "web.shop.svc")
                .rule("u.example.com", path("Prefix", "/", svc("web", 8443))).build(),
            ingress("shop", "bad").created("2024-01-04T00:00:00Z")
                .annotate("sluice.io/ssl-redirect", "maybe")
                .rule("bad.example.com", path("Prefix", "/", svc("web", 80))).build());
        add(service("shop", "web", port("http", 80, 8080), port("https", 8443, 8443)));
        RouteTable t = table();
        Map<String, TlsCertificate> byName = new java.util.TreeMap<>();
        t.tls().forEach(c -> byName.put(c.name(), c));
        assertEquals(Set.of("shop/shop-ec", "shop/shop-rsa", "passthrough/shop/p"), byName.keySet(), problems().toString());
        // both key types serve the same host, with the Ingress's options
        assertEquals(List.of("shop.example.com"), byName.get("shop/shop-rsa").hosts());
        TlsOptions o = byName.get("shop/shop-ec").options();
        assertEquals(Boolean.FALSE, o.sslRedirect());
        assertEquals("max-age=600", o.hsts());
        assertEquals(List.of("TLSv1.3"), o.protocols());
        assertEquals(TlsOptions.ClientAuth.OPTIONAL, o.clientAuth());
        assertEquals(testCertificate(), o.clientCaPem());
        assertEquals(List.of("db.example.com"), byName.get("passthrough/shop/p").hosts());
        assertTrue(byName.get("passthrough/shop/p").options().passthrough());
        var https = t.backends().stream().filter(b -> b.name().equals("shop/web:8443")).findFirst().orElseThrow();
        assertEquals(BackendProtocol.HTTPS, https.protocol());
        assertTrue(https.tls().verify());
        assertEquals("web.shop.svc", https.tls().serverName());
        assertEquals(testCertificate(), https.tls().clientChainPem());
        assertTrue(problems().stream().anyMatch(p -> p.object().toString().equals("Ingress shop/bad")
            && p.message().contains("maybe")), problems().toString());
    }

    @Test
    void tlsWithoutHostsIsTheDefaultCertificate() {
        web();
        add(tlsSecret("shop", "wild"));
        add(ingress("shop", "a").tls("wild").rule("x.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(1, t.tls().size());
        assertEquals(List.of(), t.tls().get(0).hosts());
    }

    @Test
    void missingAndInvalidSecretsAreReportedAndRoutesStay() {
        web();
        add(new SecretBuilder().withNewMetadata().withNamespace("shop").withName("no-key").endMetadata()
                .withType("kubernetes.io/tls").withStringData(Map.of("tls.crt", testCertificate())).build(),
            new SecretBuilder().withNewMetadata().withNamespace("shop").withName("garbage").endMetadata()
                .withType("kubernetes.io/tls").withStringData(Map.of("tls.crt", "-----BEGIN CERTIFICATE-----\nAAA\n"
                    + "-----END CERTIFICATE-----\n", "tls.key", testKey())).build(),
            new SecretBuilder().withNewMetadata().withNamespace("shop").withName("opaque").endMetadata()
                .withType("Opaque").withStringData(Map.of("tls.crt", testCertificate(), "tls.key", testKey())).build());
        add(ingress("shop", "a").tls("missing", "a.example.com").tls("no-key", "b.example.com")
            .tls("garbage", "c.example.com").tls("opaque", "d.example.com")
            .rule("a.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        assertEquals(1, t.hosts().size());
        assertTrue(t.tls().isEmpty());
        List<Problem> ps = problems();
        assertTrue(only(ps, Reasons.MISSING_SECRET).message().contains("shop/missing"));
        assertEquals(3, ps.stream().filter(p -> p.reason().equals(Reasons.INVALID_SECRET)).count(), ps::toString);
    }

    @Test
    void balancerAnnotationOnService() {
        add(ourClass());
        var s = service("shop", "web", port("http", 80, 8080));
        s.getMetadata().setAnnotations(Map.of(IngressCompiler.BALANCER_ANNOTATION, "least-request"));
        var bad = service("shop", "bad", port("http", 80, 8080));
        bad.getMetadata().setAnnotations(Map.of(IngressCompiler.BALANCER_ANNOTATION, "fastest"));
        add(s, bad);
        add(ingress("shop", "a").rule("a.example.com", path("Prefix", "/", svc("web", 80)),
            path("Prefix", "/b", svc("bad", 80))).build());
        RouteTable t = table();
        assertEquals(Balancer.ROUND_ROBIN, t.backends().get(0).balancer()); // shop/bad:80
        assertEquals(Balancer.LEAST_REQUEST, t.backends().get(1).balancer());
        assertEquals("Service shop/bad", only(problems(), Reasons.INVALID_OBJECT).object().toString());
    }

    @Test
    void backendProtocolFromAnnotationsAndAppProtocol() {
        add(ourClass());
        var grpcPort = port("grpc", 50051, 50051);
        var h2cPort = port("h2", 81, 8081);
        h2cPort.setAppProtocol("kubernetes.io/h2c");
        add(service("shop", "rpc", grpcPort), service("shop", "web", h2cPort, port("http", 80, 8080)));
        add(ingress("shop", "a").created("2024-01-01T00:00:00Z")
            .annotate(IngressCompiler.NGINX_BACKEND_PROTOCOL_ANNOTATION, "GRPC")
            .rule("a.example.com", path("Prefix", "/", svc("rpc", 50051))).build());
        add(ingress("shop", "b").created("2024-01-02T00:00:00Z")
            .rule("b.example.com", path("Prefix", "/h2", svc("web", 81)), path("Prefix", "/", svc("web", 80))).build());
        add(ingress("shop", "c").created("2024-01-03T00:00:00Z")
            .annotate(IngressCompiler.BACKEND_PROTOCOL_ANNOTATION, "https")
            .rule("c.example.com", path("Prefix", "/", svc("rpc", 50051))).build());
        add(ingress("shop", "d").created("2024-01-04T00:00:00Z")
            .annotate(IngressCompiler.BACKEND_PROTOCOL_ANNOTATION, "fcgi")
            .rule("d.example.com", path("Prefix", "/", svc("web", 80))).build());
        RouteTable t = table();
        Map<String, BackendProtocol> byName = new java.util.TreeMap<>();
        for (var b : t.backends()) {
            byName.put(b.name(), b.protocol());
        }
        assertEquals(Map.of("shop/rpc:50051", BackendProtocol.GRPC, "shop/web:81", BackendProtocol.H2C,
            "shop/web:80", BackendProtocol.HTTP), byName);
        // the younger Ingress c asks for another protocol for the same backend: reported, the older one's stays
        assertTrue(problems().stream().anyMatch(p -> p.reason().equals(Reasons.CONFLICT)
            && p.object().toString().equals("Ingress shop/c") && p.message().contains("GRPC")), problems().toString());
        assertTrue(problems().stream().anyMatch(p -> p.reason().equals(Reasons.INVALID_OBJECT)
            && p.object().toString().equals("Ingress shop/d") && p.message().contains("fcgi")), problems().toString());
    }

    @Test
    void endpointPhaseReusesThePlansHostList() {
        web();
        add(ingress("shop", "a").rule("a.example.com", path("Prefix", "/", svc("web", 80))).build());
        RoutePlan plan = compiler.compileRoutes(state);
        RouteTable t1 = compiler.resolveEndpoints(plan, state, 1);
        add(slice("shop", "web-1", "web", "http", 8080, ready("10.0.0.9")));
        RouteTable t2 = compiler.resolveEndpoints(plan, state, 2);
        assertSame(t1.hosts(), t2.hosts());
        assertEquals(List.of(new Endpoint("10.0.0.9", 8080)), t2.backends().get(0).endpoints());
    }

    @Test
    void emptyClusterCompilesToAnEmptyTable() {
        RouteTable t = table();
        assertTrue(t.hosts().isEmpty());
        assertTrue(t.backends().isEmpty());
        assertEquals(-1, t.defaultBackend());
    }
}
