package io.sluice.agent;

import static io.sluice.agent.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.L4Compiler;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.Reasons;
import io.sluice.agent.source.KubernetesSource;
import io.sluice.agent.source.ManifestsSource;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileReader;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Services of type LoadBalancer with class sluice.io/l4 → the table's L4 services (issue 6). */
class L4ServicesTest {
    @TempDir
    Path tmp;

    static ServicePort lbPort(String name, String protocol, int port) {
        return new ServicePortBuilder().withName(name).withProtocol(protocol).withPort(port).build();
    }

    static Service lb(String ns, String name, String created, ServicePort... ports) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).withCreationTimestamp(created)
            .endMetadata().withNewSpec().withType("LoadBalancer").withLoadBalancerClass(L4Compiler.LOAD_BALANCER_CLASS)
            .withPorts(ports).endSpec().build();
    }

    static EndpointSlice slice(String ns, String name, String service, String portName, String protocol, int port,
                               io.fabric8.kubernetes.api.model.discovery.v1.Endpoint... endpoints) {
        return new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name)
            .addToLabels(IngressCompiler.SERVICE_NAME_LABEL, service).endMetadata().withAddressType("IPv4")
            .addNewPort().withName(portName).withPort(port).withProtocol(protocol).endPort()
            .withEndpoints(endpoints).build();
    }

    static L4Service find(RouteTable t, String name) {
        return t.l4().stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    @Test
    void compilesPortsEndpointsAffinityAnnotationsAndConflicts() {
        ClusterState state = new ClusterState();
        Service game = new ServiceBuilder(lb("games", "quake", "2024-01-01T00:00:00Z",
            lbPort("game", "UDP", 27960), lbPort("rcon", "TCP", 28960), lbPort("sig", "SCTP", 9999)))
            .editMetadata().addToAnnotations(L4Compiler.PROXY_PROTOCOL_ANNOTATION, "v2")
            .addToAnnotations(L4Compiler.TABLE_SIZE_ANNOTATION, "251").endMetadata()
            .editSpec().withSessionAffinity("ClientIP").withNewSessionAffinityConfig().withNewClientIP()
            .withTimeoutSeconds(600).endClientIP().endSessionAffinityConfig().endSpec().build();
        state.upsert(game);
        state.upsert(slice("games", "quake-a", "quake", "game", "UDP", 27000, ready("10.0.0.2"), ready("10.0.0.1"),
            ep("10.0.0.3", false, true, true), ep("10.0.0.4", false, false, false)));
        state.upsert(slice("games", "quake-b", "quake", "rcon", "TCP", 28000, ready("10.0.0.1")));
        // Younger Service on the same TCP port: loses it; its UDP port of the same number is fine.
        state.upsert(lb("other", "db", "2025-01-01T00:00:00Z", lbPort("", "TCP", 28960), lbPort("u", "UDP", 28960)));
        // Not ours: another class, or not a LoadBalancer.
        state.upsert(new ServiceBuilder(lb("x", "metallb", "2024-01-01T00:00:00Z", lbPort("p", "TCP", 5432)))
            .editSpec().withLoadBalancerClass("metallb.io/lb").endSpec().build());
        state.upsert(service("x", "plain", port("http", 80, 8080)));

        IngressCompiler compiler = new IngressCompiler();
        var plan = compiler.compileRoutes(state);
        RouteTable t = compiler.resolveEndpoints(plan, state, 1);
        assertEquals(List.of("games/quake:game", "games/quake:rcon", "other/db:u"),
            t.l4().stream().map(L4Service::name).toList());
        L4Service udp = find(t, "games/quake:game");
        assertEquals(L4Service.Protocol.UDP, udp.protocol());
        assertEquals(27960, udp.listenPort());
        assertEquals(List.of(new Endpoint("10.0.0.1", 27000), new Endpoint("10.0.0.2", 27000),
            new Endpoint("10.0.0.3", 27000, 1, true)), udp.endpoints(), "ready + serving-terminating, sorted");
        assertEquals(600, udp.affinityTimeoutSeconds());
        assertFalse(udp.proxyProtocol(), "PROXY protocol is TCP only");
        assertEquals(251, udp.maglevTableSize());
        L4Service tcp = find(t, "games/quake:rcon");
        assertTrue(tcp.proxyProtocol());
        assertEquals(List.of(new Endpoint("10.0.0.1", 28000)), tcp.endpoints());

        List<Problem> problems = plan.problems();
        assertTrue(problems.stream().anyMatch(p -> p.reason().equals(Reasons.CONFLICT)
            && p.object().key().equals("other/db") && p.message().contains("games/quake")), problems::toString);
        assertTrue(problems.stream().anyMatch(p -> p.reason().equals(Reasons.UNSUPPORTED_PROTOCOL)
            && p.object().key().equals("games/quake")), problems::toString);
        assertTrue(plan.claimedIngresses().stream().anyMatch(r -> r.kind().equals("Service")
            && r.key().equals("games/quake")));

        // Endpoint-only change: the endpoint phase alone follows it.
        state.upsert(slice("games", "quake-b", "quake", "rcon", "TCP", 28000, ready("10.0.0.9")));
        RouteTable t2 = compiler.resolveEndpoints(plan, state, 2);
        assertEquals(List.of(new Endpoint("10.0.0.9", 28000)), find(t2, "games/quake:rcon").endpoints());
    }

    @Test
    void badAnnotationsAreReportedAndDefaultsApply() {
        ClusterState state = new ClusterState();
        state.upsert(new ServiceBuilder(lb("a", "s", "2024-01-01T00:00:00Z", lbPort("p", "TCP", 7000)))
            .editMetadata().addToAnnotations(L4Compiler.TABLE_SIZE_ANNOTATION, "65536")
            .addToAnnotations(L4Compiler.PROXY_PROTOCOL_ANNOTATION, "v1").endMetadata().build());
        IngressCompiler compiler = new IngressCompiler();
        var plan = compiler.compileRoutes(state);
        L4Service s = compiler.resolveEndpoints(plan, state, 1).l4().get(0);
        assertEquals(0, s.maglevTableSize());
        assertFalse(s.proxyProtocol());
        assertEquals(2, plan.problems().stream().filter(p -> p.reason().equals(Reasons.INVALID_ANNOTATION)).count());
    }

    @Test
    void manifestsDirectoryServesTheL4Sample() throws Exception {
        Path dir = tmp.resolve("manifests");
        Files.createDirectories(dir);
        Files.copy(Path.of("samples/l4/10-echo.yaml"), dir.resolve("10-echo.yaml"));
        ClusterState state = new ClusterState();
        try (ManifestsSource source = new ManifestsSource(dir, state, 10)) {
            source.reload();
            Agent agent = new Agent(state, new IngressCompiler(), null, new ProblemReporter(null), null, () -> true, 0);
            RouteTable t = agent.step();
            assertTrue(agent.reporter().current().isEmpty(), agent.reporter().current()::toString);
            L4Service tcp = find(t, "l4demo/echo:tcp-echo");
            assertEquals(7000, tcp.listenPort());
            assertEquals(List.of(new Endpoint("127.0.0.1", 9201), new Endpoint("127.0.0.1", 9202)), tcp.endpoints());
            L4Service udp = find(t, "l4demo/echo:udp-echo");
            assertEquals(L4Service.Protocol.UDP, udp.protocol());
            assertEquals(List.of(new Endpoint("127.0.0.1", 9301)), udp.endpoints());
            // An edit that only moves a port is picked up too.
            Files.writeString(dir.resolve("10-echo.yaml"),
                Files.readString(dir.resolve("10-echo.yaml")).replace("port: 7001", "port: 7002"));
            source.reload();
            RouteTable t2 = agent.step();
            assertEquals(7002, find(t2, "l4demo/echo:udp-echo").listenPort());
        }
    }

    @Test
    void clusterServicesFlowIntoTheTableAndGetStatus() throws Exception {
        Logger.getLogger("io.fabric8").setLevel(Level.WARNING);
        Logger.getLogger("io.fabric8.kubernetes.client.server.mock").setLevel(Level.SEVERE);
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
            new KubernetesCrudDispatcher(), false);
        server.init();
        KubernetesClient client = server.createClient();
        ClusterState state = new ClusterState();
        Path routes = tmp.resolve("routes");
        try (KubernetesSource source = new KubernetesSource(client, state, Set.of());
             RouteTableFileWriter writer = RouteTableFileWriter.open(routes);
             RouteTableFileReader reader = RouteTableFileReader.open(routes)) {
            source.setStatusAddresses(List.of("192.0.2.10", "lb.example.com"));
            source.start();
            Agent agent = new Agent(state, new IngressCompiler(), writer, new ProblemReporter(source::recordEvent),
                source::publishStatus, source::synced, 1);
            Thread loop = new Thread(agent::run, "agent-l4-test");
            loop.start();
            try {
                client.services().inNamespace("db").resource(lb("db", "pg", null, lbPort("pg", "TCP", 5432))).create();
                client.discovery().v1().endpointSlices().inNamespace("db")
                    .resource(slice("db", "pg-1", "pg", "pg", "TCP", 5432, ready("10.1.0.1"))).create();
                awaitTable(reader, t -> find(t, "db/pg:pg") != null
                    && find(t, "db/pg:pg").endpoints().equals(List.of(new Endpoint("10.1.0.1", 5432))));
                await(() -> {
                    Service s = client.services().inNamespace("db").withName("pg").get();
                    return s.getStatus() != null && s.getStatus().getLoadBalancer() != null
                        && s.getStatus().getLoadBalancer().getIngress() != null
                        && s.getStatus().getLoadBalancer().getIngress().size() == 2;
                });
                List<LoadBalancerIngress> st = client.services().inNamespace("db").withName("pg").get().getStatus()
                    .getLoadBalancer().getIngress();
                assertEquals("192.0.2.10", st.get(0).getIp());
                assertEquals("lb.example.com", st.get(1).getHostname());

                // Endpoint update, then a second Service on the same port (younger: reported, not served).
                client.discovery().v1().endpointSlices().inNamespace("db")
                    .resource(slice("db", "pg-1", "pg", "pg", "TCP", 5432, ready("10.1.0.2"))).update();
                awaitTable(reader, t -> find(t, "db/pg:pg") != null
                    && find(t, "db/pg:pg").endpoints().equals(List.of(new Endpoint("10.1.0.2", 5432))));
                client.services().inNamespace("db").resource(lb("db", "pg2", null, lbPort("pg", "TCP", 5432))).create();
                await(() -> agent.reporter().current().stream().anyMatch(p -> p.reason().equals(Reasons.CONFLICT)
                    && p.object().key().equals("db/pg2")));
                assertNull(find(reader.current(), "db/pg2:pg"));

                // Deleted: the port leaves the table.
                client.services().inNamespace("db").withName("pg").delete();
                awaitTable(reader, t -> find(t, "db/pg:pg") == null && find(t, "db/pg2:pg") != null);
            } finally {
                agent.close();
                loop.join(5000);
            }
        } finally {
            client.close();
            server.destroy();
        }
    }

    private static void awaitTable(RouteTableFileReader reader, Predicate<RouteTable> c) throws Exception {
        await(() -> {
            reader.poll();
            return reader.current() != null && c.test(reader.current());
        });
    }

    private static void await(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(10);
        }
    }

}
