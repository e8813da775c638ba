package io.sluice.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.agent.harness.ChildJvm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice explain --routes FILE --host H --path P}: the data plane's explain over the table the agent wrote. */
@Timeout(120)
class ExplainCommandTest {
    @TempDir
    Path tmp;

    private String explain(Path routes, String host, String path) throws Exception {
        Path log = tmp.resolve("explain-" + host + path.replace('/', '_') + ".log");
        try (ChildJvm jvm = ChildJvm.start("explain", log, List.of("-Xmx128m"), "io.sluice.dataplane.DataPlaneMain",
                List.of("explain", "--routes", routes.toString(), "--host", host, "--path", path))) {
            assertTrue(jvm.awaitExit(60_000), "explain finished");
            return jvm.log();
        }
    }

    @Test
    void explainsARequestAgainstTheAgentsTable() throws Exception {
        Path routes = tmp.resolve("routes");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        assertEquals(0, AgentMain.run(new String[] {"agent", "--manifests", "samples/demo", "--routes",
            routes.toString(), "--once"}, ps, ps), out::toString);

        String api = explain(routes, "demo.local", "/api/users?x=1");
        assertTrue(api.contains("route table: generation 1 from " + routes + " (writer writer_closed"), api);
        assertTrue(api.contains("matched: host 'demo.local' Prefix /api -> backend #0 (ingress demo/demo)"), api);
        assertTrue(api.contains("source:  ingress demo/demo"), api);
        assertTrue(api.contains("backend: demo/api:80 (round_robin) endpoints [127.0.0.1:9103]"), api);

        String wildcard = explain(routes, "shop.demo.local", "/");
        assertTrue(wildcard.contains("matched: host '*.demo.local' Prefix / -> backend #1"), wildcard);
        assertTrue(wildcard.contains("endpoints [127.0.0.1:9101, 127.0.0.1:9102]"), wildcard);

        String none = explain(routes, "nowhere.example", "/");
        assertTrue(none.contains("no route: 404"), none);
    }

    @Test
    void aMissingRouteFileIsAnErrorNotAnEmptyTable() throws Exception {
        Path log = tmp.resolve("absent.log");
        try (ChildJvm jvm = ChildJvm.start("explain", log, List.of("-Xmx128m"), "io.sluice.dataplane.DataPlaneMain",
                List.of("explain", "--routes", tmp.resolve("absent").toString(), "--host", "demo.local", "--path",
                    "/"))) {
            assertTrue(jvm.awaitExit(60_000), "explain finished");
            assertEquals(1, jvm.exitCode());
            assertTrue(jvm.log().contains("no route file"), jvm.log());
        }
    }
}
