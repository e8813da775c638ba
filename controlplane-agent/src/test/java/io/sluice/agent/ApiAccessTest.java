package io.sluice.agent;

import static io.sluice.agent.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.source.ApiAccess;
import io.sluice.agent.source.KubernetesSource;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Derives the agent's RBAC from what it really sends: the agent runs against fabric8's mock API server (CRUD mode)
 * through every path that talks to the cluster (informers, Ingress status, Events, node addresses); each request is
 * recorded and turned into (API group, resource[/subresource], verb). Every one must be granted by
 * {@link ApiAccess#RULES}, and every rule there (except those whose caller lives on another branch) must be used. The
 * deploy tests check {@code k8s/rbac.yaml} against the same list.
 */
class ApiAccessTest {
    private static final String SETUP_AGENT = "sluice-test-setup";

    @TempDir
    Path tmp;

    /** One API request as RBAC sees it. */
    record Access(String group, String resource, String verb) {
        @Override
        public String toString() {
            return (group.isEmpty() ? "core" : group) + " " + resource + " " + verb;
        }
    }

    /** The CRUD dispatcher, recording what every client but the test's setup client asks. */
    static final class Recording extends KubernetesCrudDispatcher {
        final ConcurrentLinkedQueue<String> requests = new ConcurrentLinkedQueue<>();

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String ua = request.getHeader("User-Agent");
            if (ua == null || !ua.contains(SETUP_AGENT)) {
                requests.add(request.getMethod() + " " + request.getPath());
            }
            return super.dispatch(request);
        }
    }

    /** "GET /apis/networking.k8s.io/v1/namespaces/shop/ingresses?watch=true" → networking.k8s.io ingresses watch. */
    static Access access(String methodAndPath) {
        int sp = methodAndPath.indexOf(' ');
        String method = methodAndPath.substring(0, sp);
        String path = methodAndPath.substring(sp + 1);
        String query = "";
        int q = path.indexOf('?');
        if (q >= 0) {
            query = path.substring(q + 1);
            path = path.substring(0, q);
        }
        List<String> seg = new ArrayList<>(List.of(path.replaceAll("^/+", "").split("/")));
        String group;
        if (seg.get(0).equals("api")) {           // /api/v1/...
            group = "";
            seg = seg.subList(2, seg.size());
        } else if (seg.get(0).equals("apis")) {   // /apis/group/version/...
            group = seg.get(1);
            seg = seg.subList(3, seg.size());
        } else {
            throw new IllegalArgumentException("not an API path: " + methodAndPath);
        }
        if (seg.size() >= 3 && seg.get(0).equals("namespaces")) {
            seg = seg.subList(2, seg.size());
        }
        String resource = seg.get(0);
        boolean named = seg.size() >= 2;
        if (seg.size() >= 3) {
            resource = resource + "/" + seg.get(2);
        }
        boolean watch = List.of(query.split("&")).contains("watch=true");
        String verb = switch (method) {
            case "GET" -> watch ? "watch" : named ? "get" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> named ? "delete" : "deletecollection";
            default -> throw new IllegalArgumentException("method " + method);
        };
        return new Access(group, resource, verb);
    }

    @Test
    void pathsMapToRbacTerms() {
        assertEquals(new Access("networking.k8s.io", "ingresses", "watch"),
            access("GET /apis/networking.k8s.io/v1/ingresses?allowWatchBookmarks=true&watch=true"));
        assertEquals(new Access("", "secrets", "list"),
            access("GET /api/v1/namespaces/a/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls"));
        assertEquals(new Access("networking.k8s.io", "ingresses/status", "patch"),
            access("PATCH /apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/status"));
        assertEquals(new Access("", "nodes", "get"), access("GET /api/v1/nodes/node-1"));
        assertEquals(new Access("", "namespaces", "get"), access("GET /api/v1/namespaces/shop"));
        assertEquals(new Access("", "events", "create"), access("POST /api/v1/namespaces/shop/events"));
    }

    @Test
    void everyCallTheAgentMakesIsGrantedAndEveryGrantIsUsed() throws Exception {
        Logger.getLogger("io.fabric8").setLevel(Level.WARNING);
        Logger.getLogger("io.fabric8.kubernetes.client.server.mock").setLevel(Level.SEVERE);
        Recording recording = new Recording();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
            recording, false);
        server.init();
        KubernetesClient agentClient = server.createClient();
        KubernetesClient setup = new KubernetesClientBuilder().withConfig(new ConfigBuilder(
            agentClient.getConfiguration()).withUserAgent(SETUP_AGENT).build()).build();
        try {
            setup.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-1").endMetadata()
                .withNewStatus().addNewAddress().withType("InternalIP").withAddress("10.0.0.5").endAddress()
                .endStatus().build()).create();
            setup.network().v1().ingressClasses().resource(ourClass()).create();
            setup.services().inNamespace("shop").resource(service("shop", "web", port("http", 80, 8080))).create();
            setup.discovery().v1().endpointSlices().inNamespace("shop")
                .resource(slice("shop", "web-1", "web", "http", 8080, ready("10.0.0.1"))).create();
            setup.secrets().inNamespace("shop").resource(tlsSecret("shop", "shop-tls")).create();
            // An L4 Service (issue 6): its status.loadBalancer is written too.
            setup.services().inNamespace("shop").resource(L4ServicesTest.lb("shop", "db", "2024-01-01T00:00:00Z",
                L4ServicesTest.lbPort("pg", "TCP", 5432))).create();
            // One good path (status is written) and one to a missing Service (an Event is recorded).
            setup.network().v1().ingresses().inNamespace("shop").resource(ingress("shop", "web")
                .tls("shop-tls", "shop.example.com")
                .rule("shop.example.com", path("Prefix", "/", svc("web", 80)), path("Prefix", "/x", svc("gone", 80)))
                .build()).create();

            ClusterState state = new ClusterState();
            try (RouteTableFileWriter writer = RouteTableFileWriter.open(tmp.resolve("routes"));
                 KubernetesSource source = new KubernetesSource(agentClient, state, Set.of())) {
                // As AgentMain does with --publish-node: the node's addresses become the status addresses.
                source.setStatusAddresses(source.nodeAddresses("node-1"));
                source.start();
                Agent agent = new Agent(state, new IngressCompiler(), writer, new ProblemReporter(source::recordEvent),
                    source::publishStatus, source::synced, 1);
                Thread loop = new Thread(agent::run, "agent-rbac-test");
                loop.start();
                try {
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (true) {
                        source.flush();
                        Ingress i = setup.network().v1().ingresses().inNamespace("shop").withName("web").get();
                        boolean status = i.getStatus() != null && i.getStatus().getLoadBalancer() != null
                            && i.getStatus().getLoadBalancer().getIngress() != null
                            && !i.getStatus().getLoadBalancer().getIngress().isEmpty();
                        boolean event = !setup.v1().events().inNamespace("shop").list().getItems().isEmpty();
                        io.fabric8.kubernetes.api.model.Service db = setup.services().inNamespace("shop")
                            .withName("db").get();
                        boolean l4Status = db.getStatus() != null && db.getStatus().getLoadBalancer() != null
                            && db.getStatus().getLoadBalancer().getIngress() != null
                            && !db.getStatus().getLoadBalancer().getIngress().isEmpty();
                        if (status && event && l4Status) {
                            break;
                        }
                        assertTrue(System.nanoTime() < deadline, "no status/event; requests: " + recording.requests);
                        Thread.sleep(20);
                    }
                    // Informers re-list on reconnects; let them settle into their watches.
                    Thread.sleep(200);
                } finally {
                    agent.close();
                    loop.join(5_000);
                }
            }
        } finally {
            setup.close();
            agentClient.close();
            server.destroy();
        }

        TreeSet<String> used = new TreeSet<>();
        List<String> denied = new ArrayList<>();
        for (String r : recording.requests) {
            Access a = access(r);
            used.add(a.toString());
            if (!ApiAccess.allows(a.group(), a.resource(), a.verb())) {
                denied.add(r + "  (" + a + ")");
            }
        }
        assertTrue(denied.isEmpty(), "the agent makes calls ApiAccess.RULES does not grant: " + denied);
        List<String> unused = new ArrayList<>();
        for (ApiAccess.Rule rule : ApiAccess.RULES) {
            if (rule.pending()) {
                continue;
            }
            for (String verb : rule.verbs()) {
                String key = new Access(rule.group(), rule.resource(), verb).toString();
                if (!used.contains(key)) {
                    unused.add(key);
                }
            }
        }
        assertTrue(unused.isEmpty(), "ApiAccess.RULES grants what the agent never uses: " + unused + "; used: " + used);
    }
}
