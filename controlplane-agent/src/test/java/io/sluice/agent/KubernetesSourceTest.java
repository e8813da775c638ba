package io.sluice.agent;

import static io.sluice.agent.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.Reasons;
import io.sluice.agent.source.KubernetesSource;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import io.sluice.routetable.shm.RouteTableFileReader;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster source against fabric8's mock API server in CRUD mode: objects of every kind are created, updated and
 * deleted through the API, the informers pick the changes up, and the table the agent publishes to the route file
 * (read back with the data plane's reader) follows.
 */
class KubernetesSourceTest {
    private static final Logger QUIET = Logger.getLogger("io.fabric8");

    @TempDir
    Path tmp;

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesSource source;
    private Agent agent;
    private Thread loop;
    private RouteTableFileWriter writer;
    private RouteTableFileReader reader;

    @BeforeAll
    static void quiet() {
        QUIET.setLevel(Level.WARNING);
        Logger.getLogger("io.fabric8.mockwebserver").setLevel(Level.WARNING);
        Logger.getLogger("io.fabric8.kubernetes.client.server.mock").setLevel(Level.SEVERE);
    }

    @BeforeEach
    void startServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
            new KubernetesCrudDispatcher(), false);
        server.init();
        client = server.createClient();
    }

    private void startAgent(Set<String> namespaces, List<String> statusAddresses) throws Exception {
        ClusterState state = new ClusterState();
        source = new KubernetesSource(client, state, namespaces);
        source.setStatusAddresses(statusAddresses);
        source.start();
        Path routes = tmp.resolve("routes");
        writer = RouteTableFileWriter.open(routes);
        agent = new Agent(state, new IngressCompiler(), writer, new ProblemReporter(source::recordEvent),
            source::publishStatus, source::synced, 1);
        loop = new Thread(agent::run, "agent-test");
        loop.start();
        reader = RouteTableFileReader.open(routes);
    }

    @AfterEach
    void stop() throws Exception {
        if (agent != null) {
            agent.close();
            loop.join(5_000);
        }
        if (source != null) {
            source.close();
        }
        if (writer != null) {
            writer.close();
        }
        if (reader != null) {
            reader.close();
        }
        client.close();
        server.destroy();
    }

    private RouteTable awaitTable(String what, Predicate<RouteTable> condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            reader.poll();
            RouteTable t = reader.current();
            if (t != null && condition.test(t)) {
                return t;
            }
            Thread.sleep(10);
        }
        fail(what + ": no such table; last: " + reader.current() + "; problems: " + agent.reporter().current());
        return null;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    private static VirtualHost host(RouteTable t, String name) {
        return t.hosts().stream().filter(h -> h.host().equals(name)).findFirst().orElse(null);
    }

    private static List<Endpoint> endpoints(RouteTable t, String backend) {
        return t.backends().stream().filter(b -> b.name().equals(backend)).findFirst()
            .map(io.sluice.routetable.Backend::endpoints).orElse(null);
    }

    private boolean hasProblem(String reason) {
        return agent.reporter().current().stream().anyMatch(p -> p.reason().equals(reason));
    }

    @Test
    void createUpdateAndDeleteOfEveryKindFlowIntoTheTable() throws Exception {
        startAgent(Set.of(), List.of());
        await("initial sync", source::synced);
        RouteTable empty = awaitTable("empty table", t -> t.hosts().isEmpty());
        assertTrue(empty.backends().isEmpty());

        // ---- create
        client.network().v1().ingressClasses().resource(ourClass()).create();
        client.services().inNamespace("shop").resource(service("shop", "web", port("http", 80, 8080))).create();
        client.discovery().v1().endpointSlices().inNamespace("shop")
            .resource(slice("shop", "web-1", "web", "http", 8080, ready("10.0.0.1"))).create();
        client.secrets().inNamespace("shop").resource(tlsSecret("shop", "shop-tls")).create();
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "web")
            .tls("shop-tls", "shop.example.com")
            .rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build()).create();
        RouteTable t = awaitTable("created objects", x -> host(x, "shop.example.com") != null
            && List.of(new Endpoint("10.0.0.1", 8080)).equals(endpoints(x, "shop/web:80")) && x.tls().size() == 1);
        assertEquals(List.of("shop.example.com"), t.tls().get(0).hosts());
        assertTrue(agent.reporter().current().isEmpty(), agent.reporter().current()::toString);

        // ---- update EndpointSlice: an endpoint-only publication
        client.discovery().v1().endpointSlices().inNamespace("shop")
            .resource(slice("shop", "web-1", "web", "http", 8080, ready("10.0.0.1"), ep("10.0.0.2", false, true, true)))
            .update();
        RouteTable t2 = awaitTable("slice update", x -> endpoints(x, "shop/web:80") != null
            && endpoints(x, "shop/web:80").size() == 2);
        assertEquals(new Endpoint("10.0.0.2", 8080, 1, true), endpoints(t2, "shop/web:80").get(1));
        assertTrue(reader.lastPollEndpointsOnly());
        assertTrue(writer.lastPublishReusedRoutes());

        // ---- update Ingress: a new path
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "web")
            .tls("shop-tls", "shop.example.com")
            .rule("shop.example.com", path("Prefix", "/", svc("web", 80)), path("Exact", "/api", svc("web", "http")))
            .build()).update();
        awaitTable("ingress update", x -> host(x, "shop.example.com") != null
            && host(x, "shop.example.com").paths().size() == 2);

        // ---- update Service: port 80 becomes 81; the backend's port is gone
        client.services().inNamespace("shop").resource(service("shop", "web", port("http", 81, 8080))).update();
        awaitTable("service update", x -> endpoints(x, "shop/web:80") != null && endpoints(x, "shop/web:80").isEmpty());
        await("UnknownServicePort reported", () -> hasProblem(Reasons.UNKNOWN_SERVICE_PORT));
        client.services().inNamespace("shop").resource(service("shop", "web", port("http", 80, 8080))).update();
        awaitTable("service restored", x -> endpoints(x, "shop/web:80") != null
            && endpoints(x, "shop/web:80").size() == 2);

        // ---- update Secret: broken certificate → no certificate, reported
        client.secrets().inNamespace("shop").resource(new SecretBuilder(tlsSecret("shop", "shop-tls"))
            .withData(Map.of("tls.crt", "bm90IGEgY2VydA==", "tls.key", "bm90IGEga2V5")).build()).update();
        awaitTable("secret update", x -> x.tls().isEmpty());
        await("InvalidSecret reported", () -> hasProblem(Reasons.INVALID_SECRET));
        client.secrets().inNamespace("shop").resource(tlsSecret("shop", "shop-tls")).update();
        awaitTable("secret restored", x -> x.tls().size() == 1);

        // ---- update IngressClass: another controller → not ours any more
        client.network().v1().ingressClasses().resource(ingressClass("sluice", "example.com/other", false)).update();
        awaitTable("class update", x -> x.hosts().isEmpty());
        client.network().v1().ingressClasses().resource(ourClass()).update();
        awaitTable("class restored", x -> host(x, "shop.example.com") != null);

        // ---- delete each kind
        client.secrets().inNamespace("shop").withName("shop-tls").delete();
        awaitTable("secret deleted", x -> x.tls().isEmpty());
        await("MissingSecret reported", () -> hasProblem(Reasons.MISSING_SECRET));

        client.discovery().v1().endpointSlices().inNamespace("shop").withName("web-1").delete();
        awaitTable("slice deleted", x -> endpoints(x, "shop/web:80") != null && endpoints(x, "shop/web:80").isEmpty());

        client.services().inNamespace("shop").withName("web").delete();
        await("UnknownService reported", () -> hasProblem(Reasons.UNKNOWN_SERVICE));

        client.network().v1().ingresses().inNamespace("shop").withName("web").delete();
        awaitTable("ingress deleted", x -> x.hosts().isEmpty());
        await("problems gone with the Ingress", () -> agent.reporter().current().isEmpty());

        client.network().v1().ingressClasses().withName("sluice").delete();
        await("class deleted", () -> agent.lastPlan() != null && client.network().v1().ingressClasses().list()
            .getItems().isEmpty());
    }

    @Test
    void problemsBecomeKubernetesEvents() throws Exception {
        startAgent(Set.of(), List.of());
        client.network().v1().ingressClasses().resource(ourClass()).create();
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "broken")
            .rule("x.example.com", path("Prefix", "/", svc("missing", 80)), path("Prefix", "rel", svc("missing", 80)))
            .build()).create();
        awaitTable("broken ingress still routed", x -> host(x, "x.example.com") != null);
        await("events", () -> client.v1().events().inNamespace("shop").list().getItems().size() >= 2);
        List<Event> events = client.v1().events().inNamespace("shop").list().getItems();
        for (Event e : events) {
            assertEquals("Warning", e.getType());
            assertEquals("Ingress", e.getInvolvedObject().getKind());
            assertEquals("broken", e.getInvolvedObject().getName());
            assertEquals(KubernetesSource.EVENT_COMPONENT, e.getSource().getComponent());
        }
        assertEquals(Set.of(Reasons.UNKNOWN_SERVICE, Reasons.INVALID_PATH),
            Set.copyOf(events.stream().map(Event::getReason).toList()));

        // A problem is recorded once, not at every compile.
        client.discovery().v1().endpointSlices().inNamespace("shop")
            .resource(slice("shop", "other", "other", "http", 80, ready("10.0.0.1"))).create();
        client.services().inNamespace("shop").resource(service("shop", "other", port("http", 80, 80))).create();
        Thread.sleep(300);
        source.flush();
        assertEquals(2, client.v1().events().inNamespace("shop").list().getItems().size());
    }

    @Test
    void ingressStatusGetsTheConfiguredAddresses() throws Exception {
        startAgent(Set.of(), List.of("192.0.2.10", "lb.example.com"));
        client.network().v1().ingressClasses().resource(ourClass()).create();
        client.services().inNamespace("shop").resource(service("shop", "web", port("http", 80, 8080))).create();
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "web")
            .rule("shop.example.com", path("Prefix", "/", svc("web", 80))).build()).create();
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "not-ours").className("nginx")
            .rule("other.example.com", path("Prefix", "/", svc("web", 80))).build()).create();
        await("status", () -> {
            Ingress i = client.network().v1().ingresses().inNamespace("shop").withName("web").get();
            return i.getStatus() != null && i.getStatus().getLoadBalancer() != null
                && i.getStatus().getLoadBalancer().getIngress() != null
                && i.getStatus().getLoadBalancer().getIngress().size() == 2;
        });
        List<IngressLoadBalancerIngress> lb = client.network().v1().ingresses().inNamespace("shop").withName("web")
            .get().getStatus().getLoadBalancer().getIngress();
        assertEquals("192.0.2.10", lb.get(0).getIp());
        assertEquals("lb.example.com", lb.get(1).getHostname());
        source.flush();
        Ingress other = client.network().v1().ingresses().inNamespace("shop").withName("not-ours").get();
        assertTrue(other.getStatus() == null || other.getStatus().getLoadBalancer() == null
            || other.getStatus().getLoadBalancer().getIngress() == null
            || other.getStatus().getLoadBalancer().getIngress().isEmpty(), "others' Ingresses are left alone");
        // Our own status write does not cause another publication.
        long publications = agent.publications();
        Thread.sleep(300);
        assertEquals(publications, agent.publications());
    }

    @Test
    void kubeconfigFileIsUsed() throws Exception {
        Path kubeconfig = tmp.resolve("kubeconfig");
        java.nio.file.Files.writeString(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters:
              - name: mock
                cluster: {server: "%s"}
            contexts:
              - name: mock
                context: {cluster: mock, user: tester, namespace: shop}
            current-context: mock
            users:
              - name: tester
                user: {token: secret-token}
            """.formatted(client.getConfiguration().getMasterUrl()));
        var config = AgentMain.clientConfig(AgentMain.parse(List.of("--kubeconfig", kubeconfig.toString())));
        assertEquals("shop", config.getNamespace());
        assertTrue(config.getMasterUrl().startsWith(client.getConfiguration().getMasterUrl().replaceAll("/$", "")),
            config.getMasterUrl());
        assertEquals("secret-token", config.getAutoOAuthToken());
        client.network().v1().ingressClasses().resource(ourClass()).create();
        try (KubernetesClient viaKubeconfig = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                .withConfig(config).build()) {
            assertEquals(1, viaKubeconfig.network().v1().ingressClasses().list().getItems().size());
        }
    }

    @Test
    void nodeAddressesForStatus() {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-1").endMetadata()
            .withNewStatus().addNewAddress().withType("InternalIP").withAddress("10.0.0.5").endAddress()
            .addNewAddress().withType("Hostname").withAddress("node-1").endAddress().endStatus().build()).create();
        KubernetesSource s = new KubernetesSource(client, new ClusterState(), Set.of());
        assertEquals(List.of("10.0.0.5"), s.nodeAddresses("node-1"));
        s.close();
    }

    @Test
    void onlyTheChosenNamespacesAreWatched() throws Exception {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("a").endMetadata().build())
            .create();
        startAgent(Set.of("a"), List.of());
        client.network().v1().ingressClasses().resource(ourClass()).create();
        client.network().v1().ingresses().inNamespace("b").resource(ingress("b", "web")
            .rule("b.example.com", path("Prefix", "/", svc("web", 80))).build()).create();
        client.network().v1().ingresses().inNamespace("a").resource(ingress("a", "web")
            .rule("a.example.com", path("Prefix", "/", svc("web", 80))).build()).create();
        RouteTable t = awaitTable("namespace a", x -> host(x, "a.example.com") != null);
        assertNull(host(t, "b.example.com"));
    }

    @Test
    void endpointSliceRelabelledToAnotherService() throws Exception {
        startAgent(Set.of(), List.of());
        client.network().v1().ingressClasses().resource(ourClass()).create();
        client.services().inNamespace("shop").resource(service("shop", "a", port("http", 80, 8080))).create();
        client.services().inNamespace("shop").resource(service("shop", "b", port("http", 80, 8080))).create();
        client.discovery().v1().endpointSlices().inNamespace("shop")
            .resource(slice("shop", "s", "a", "http", 8080, ready("10.0.0.1"))).create();
        client.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "web")
            .rule("x.example.com", path("Prefix", "/a", svc("a", 80)), path("Prefix", "/b", svc("b", 80))).build())
            .create();
        awaitTable("a has the endpoint", x -> endpoints(x, "shop/a:80") != null && endpoints(x, "shop/a:80").size() == 1);
        client.discovery().v1().endpointSlices().inNamespace("shop").resource(new EndpointSliceBuilder(
            slice("shop", "s", "b", "http", 8080, ready("10.0.0.1"))).build()).update();
        awaitTable("b has it now", x -> endpoints(x, "shop/a:80").isEmpty() && endpoints(x, "shop/b:80").size() == 1);
    }

}
