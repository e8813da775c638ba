package io.sluice.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.agent.compile.IngressCompiler;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.Reasons;
import io.sluice.agent.harness.ManifestFiles;
import io.sluice.agent.source.ManifestLoader;
import io.sluice.agent.source.ManifestsSource;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import io.sluice.routetable.shm.RouteTableFileReader;
import io.sluice.routetable.shm.RouteTableFileWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestsSourceTest {
    static final Path DEMO = Path.of("samples/demo");

    @TempDir
    Path tmp;

    private Thread loop;
    private Agent agent;
    private ManifestsSource source;
    private RouteTableFileWriter writer;
    private RouteTableFileReader reader;

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
    }

    private Path copyDemo() throws IOException {
        Path dir = tmp.resolve("manifests");
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(DEMO)) {
            for (Path p : s.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        return dir;
    }

    /** Starts the whole manifests agent: source watching dir, compile loop, route file, and a reader on it. */
    private void startAgent(Path dir) throws Exception {
        ClusterState state = new ClusterState();
        source = new ManifestsSource(dir, state, 10);
        source.reload();
        Path routes = tmp.resolve("routes");
        writer = RouteTableFileWriter.open(routes);
        agent = new Agent(state, new IngressCompiler(), writer, new ProblemReporter(null), null, () -> true, 1);
        loop = new Thread(agent::run, "agent-test");
        loop.start();
        source.startWatching();
        reader = RouteTableFileReader.open(routes);
    }

    private RouteTable awaitTable(Predicate<RouteTable> condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            reader.poll();
            RouteTable t = reader.current();
            if (t != null && condition.test(t)) {
                return t;
            }
            Thread.sleep(5);
        }
        fail("no table satisfied the condition; last: " + reader.current() + "; problems: "
            + agent.reporter().current());
        return null;
    }

    private static VirtualHost host(RouteTable t, String name) {
        return t.hosts().stream().filter(h -> h.host().equals(name)).findFirst().orElse(null);
    }

    @Test
    void demoSamplesCompileToTheDemoRoutes() throws Exception {
        ClusterState state = new ClusterState();
        ManifestsSource.Snapshot snap = new ManifestsSource(DEMO, state, 0).reload();
        assertTrue(snap.problems().isEmpty(), snap.problems()::toString);
        RouteTable t = new IngressCompiler().compile(state, 1);
        TableMatcher m = new TableMatcher(t);
        assertEquals("demo/web:80", m.backend("demo.local", "/"));
        assertEquals("demo/api:80", m.backend("demo.local", "/api/users"));
        assertEquals("demo/web:80", m.backend("demo.local", "/apix"));
        assertEquals("demo/web:80", m.backend("demo.local", "/healthz"));
        assertEquals("demo/web:80", m.backend("x.demo.local", "/api"));
        assertNull(m.backend("demo.local.evil", "/"));
        assertEquals(List.of(new PathRule("/healthz", PathType.EXACT, 1, "ingress demo/demo"),
            new PathRule("/api", PathType.PREFIX, 0, "ingress demo/demo"),
            new PathRule("/", PathType.PREFIX, 1, "ingress demo/demo")), host(t, "demo.local").paths());
        assertEquals(List.of(new Endpoint("127.0.0.1", 9101), new Endpoint("127.0.0.1", 9102)),
            t.backends().get(1).endpoints());
        assertEquals(List.of(new Endpoint("127.0.0.1", 9103)), t.backends().get(0).endpoints());
        assertNotNull(snap.locations().get(new ObjectRef("Ingress", "demo", "demo")));
    }

    @Test
    void fileChangesArePublished() throws Exception {
        Path dir = copyDemo();
        startAgent(dir);
        RouteTable first = awaitTable(t -> host(t, "demo.local") != null);

        // A new route in a new file.
        Files.writeString(dir.resolve("40-more.yaml"), """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: more, namespace: demo}
            spec:
              rules:
                - host: more.local
                  http:
                    paths:
                      - {path: /v2, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
            """);
        RouteTable second = awaitTable(t -> host(t, "more.local") != null);
        assertTrue(second.generation() > first.generation());
        assertFalse(reader.lastPollEndpointsOnly());

        // An endpoint-only change: the reader decodes endpoints only and keeps the host list.
        String slice = Files.readString(dir.resolve("20-api.yaml")).replace("\"127.0.0.1\"", "\"127.0.0.2\"");
        Files.writeString(dir.resolve("20-api.yaml"), slice);
        RouteTable third = awaitTable(t -> t.backends().stream().anyMatch(
            b -> b.endpoints().contains(new Endpoint("127.0.0.2", 9103))));
        assertTrue(reader.lastPollEndpointsOnly());
        assertSame(second.hosts(), third.hosts());

        // Deleting the file takes its route away.
        Files.delete(dir.resolve("40-more.yaml"));
        awaitTable(t -> host(t, "more.local") == null);
    }

    @Test
    void badManifestKeepsLastGoodTable() throws Exception {
        Path dir = copyDemo();
        startAgent(dir);
        RouteTable good = awaitTable(t -> host(t, "demo.local") != null);
        long publications = agent.publications();

        String ingress = Files.readString(dir.resolve("30-ingress.yaml"));
        Files.writeString(dir.resolve("30-ingress.yaml"), ingress + "\n  - this: [is not: yaml\n");
        // The broken file is noticed and reported; its objects stay, so no table without demo.local is published.
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (agent.reporter().current().stream().noneMatch(p -> p.reason().equals(Reasons.PARSE_ERROR))) {
            assertTrue(System.nanoTime() < deadline, "parse error reported");
            Thread.sleep(5);
        }
        Problem p = agent.reporter().current().stream().filter(q -> q.reason().equals(Reasons.PARSE_ERROR))
            .findFirst().orElseThrow();
        assertEquals(new ObjectRef("File", "", "30-ingress.yaml"), p.object());
        reader.poll();
        assertEquals(good.hosts(), reader.current().hosts());
        assertEquals(publications, agent.publications(), "nothing new to publish");

        // Fixed, with a change: published, problem resolved.
        Files.writeString(dir.resolve("30-ingress.yaml"), ingress.replace("/healthz", "/ready"));
        awaitTable(t -> host(t, "demo.local") != null && host(t, "demo.local").paths().stream()
            .anyMatch(r -> r.path().equals("/ready")));
        assertTrue(agent.reporter().current().isEmpty(), agent.reporter().current()::toString);
    }

    @Test
    void semanticallyInvalidObjectIsReportedWhileTheRestWorks() throws Exception {
        Path dir = copyDemo();
        Files.writeString(dir.resolve("50-broken.yaml"), """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: broken, namespace: demo}
            spec:
              rules:
                - host: broken.local
                  http:
                    paths:
                      - {path: /x, pathType: Prefix, backend: {service: {name: nowhere, port: {number: 80}}}}
                      - {path: "no-slash", pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
            """);
        startAgent(dir);
        RouteTable t = awaitTable(x -> host(x, "demo.local") != null);
        assertNotNull(host(t, "broken.local"));
        List<Problem> problems = agent.reporter().current();
        assertEquals(2, problems.size(), problems::toString);
        assertTrue(problems.stream().allMatch(p -> p.object().equals(new ObjectRef("Ingress", "demo", "broken"))));
    }

    @Test
    void loaderKeepsLinesSkipsOtherKindsAndReadsLists() throws Exception {
        Path f = tmp.resolve("all.yaml");
        Files.writeString(f, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: ignored}
            ---
            # comment
            apiVersion: v1
            kind: Service
            metadata:
              name: svc
            spec:
              ports: [{name: http, port: 80}]
            ---
            apiVersion: v1
            kind: List
            items:
              - apiVersion: networking.k8s.io/v1
                kind: IngressClass
                metadata: {name: c}
                spec: {controller: sluice.io/ingress-controller}
            ---
            apiVersion: extensions/v1beta1
            kind: Ingress
            metadata: {name: old}
            """);
        ManifestLoader.FileResult r = new ManifestLoader().load(f, f.getFileName());
        assertTrue(r.parsed());
        assertEquals(2, r.objects().size());
        assertEquals("default", r.objects().get(0).object().getMetadata().getNamespace());
        assertEquals(6, r.objects().get(0).line());
        assertEquals(1, r.problems().size());
        assertEquals(Reasons.UNSUPPORTED_API_VERSION, r.problems().get(0).reason());
    }

    @Test
    void duplicateObjectsAcrossFiles() throws Exception {
        Path dir = copyDemo();
        Files.copy(dir.resolve("20-api.yaml"), dir.resolve("21-api-copy.yaml"));
        ManifestsSource.Snapshot snap = new ManifestsSource(dir, new ClusterState(), 0).reload();
        assertEquals(2, snap.problems().size(), snap.problems()::toString);
        assertTrue(snap.problems().stream().allMatch(p -> p.reason().equals(Reasons.DUPLICATE_OBJECT)));
        assertTrue(snap.problems().get(0).message().contains("20-api.yaml"));
    }

    @Test
    void unchangedFilesAreNotParsedAgainAndKeepTheirObjects() throws Exception {
        Path dir = copyDemo();
        ManifestsSource source = new ManifestsSource(dir, new ClusterState(), 0);
        ManifestsSource.Snapshot first = source.reload();
        Files.writeString(dir.resolve("30-ingress.yaml"),
            Files.readString(dir.resolve("30-ingress.yaml")).replace("/healthz", "/ready"));
        ManifestsSource.Snapshot second = source.reload();
        assertEquals(first.objects().size(), second.objects().size());
        for (int i = 0; i < first.objects().size(); i++) {
            ManifestLoader.Loaded a = first.objects().get(i);
            ManifestLoader.Loaded b = second.objects().get(i);
            if (a.file().toString().equals("30-ingress.yaml")) {
                assertNotSame(a.object(), b.object(), "the edited file is parsed again");
            } else {
                assertSame(a.object(), b.object(), a.location() + ": same bytes, same objects");
            }
        }
        // A file rewritten with the same bytes (new inode, new mtime) still counts as unchanged.
        ManifestFiles.write(dir, "10-web.yaml", Files.readString(dir.resolve("10-web.yaml")));
        ManifestsSource.Snapshot third = source.reload();
        assertSame(second.objects().get(1).object(), third.objects().get(1).object());
    }

    @Test
    void aDirectoryThatIsNeverQuietStillReloads() throws Exception {
        Path dir = copyDemo();
        // Quiet period far longer than the rewrite interval: without the cap on coalescing, no reload would start
        // before the writes stop.
        ManifestsSource source = new ManifestsSource(dir, new ClusterState(), 60_000);
        this.source = source;
        source.reload();
        source.startWatching();
        long before = source.reloads();
        String ingress = Files.readString(dir.resolve("30-ingress.yaml"));
        long deadline = System.nanoTime() + 20_000_000_000L;
        int i = 0;
        while (source.reloads() == before) {
            assertTrue(System.nanoTime() < deadline, "reloaded while the directory kept changing");
            Files.writeString(dir.resolve("30-ingress.yaml"), ingress.replace("/healthz", "/h" + i++));
            Thread.sleep(10);
        }
        assertTrue(source.reloads() > before);
    }
}
