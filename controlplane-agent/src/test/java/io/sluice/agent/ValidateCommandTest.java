package io.sluice.agent;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidateCommandTest {
    @TempDir
    Path tmp;

    private record Run(int code, String out) {
    }

    private static Run run(String... args) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int code = AgentMain.run(args, out, out);
        return new Run(code, buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void demoSamplesAreValid() throws Exception {
        Run r = run("agent", "validate", "samples/demo");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("1 Ingresses served; 2 hosts, 4 paths, 2 backends, 3 endpoints"), r.out());
        assertTrue(r.out().contains("0 problems"), r.out());
    }

    @Test
    void eachProblemIsPrintedWithItsObjectAndLocation() throws Exception {
        Files.writeString(tmp.resolve("a.yaml"), """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: sluice}
            spec: {controller: sluice.io/ingress-controller}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: shop, namespace: prod}
            spec:
              ingressClassName: sluice
              tls: [{hosts: [shop.example.com], secretName: shop-tls}]
              rules:
                - host: shop.example.com
                  http:
                    paths:
                      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                      - {path: /a//b, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
                      - {path: /bucket, pathType: Prefix, backend: {resource: {kind: Bucket, name: b}}}
            """);
        Files.writeString(tmp.resolve("b.yaml"), "kind: [unclosed\n");
        Run r = run("validate", tmp.toString());
        assertEquals(1, r.code(), r.out());
        String out = r.out();
        assertTrue(out.contains(tmp.resolve("a.yaml") + ":6: Ingress prod/shop: UnknownService: "), out);
        assertTrue(out.contains("Ingress prod/shop: MissingSecret: spec.tls[0]: Secret prod/shop-tls"), out);
        assertTrue(out.contains("Ingress prod/shop: InvalidPath: spec.rules[0].http.paths[1]: path '/a//b'"), out);
        assertTrue(out.contains("Ingress prod/shop: ResourceBackendUnsupported: "), out);
        assertTrue(out.contains(tmp.resolve("b.yaml") + ": File b.yaml: ParseError: line "), out);
        assertTrue(out.contains("5 problems"), out);
    }

    @Test
    void missingDirectory() throws Exception {
        Run r = run("validate", tmp.resolve("nope").toString());
        assertEquals(1, r.code());
    }

    @Test
    void usageErrors() {
        assertThrows(AgentMain.UsageException.class, () -> run("--bogus"));
        assertThrows(AgentMain.UsageException.class, () -> run("--manifests", "a", "--kubeconfig", "b"));
        assertThrows(AgentMain.UsageException.class, () -> run("validate"));
        assertThrows(AgentMain.UsageException.class, () -> run("--routes"));
    }

    @Test
    void optionsParse() throws Exception {
        AgentMain.Options o = AgentMain.parse(java.util.List.of("--kubeconfig", "/k", "--namespaces", "a,b",
            "--status-address=10.0.0.1,lb.example.com", "--ingress-class", "x", "--routes", "/tmp/r"));
        assertEquals("/k", o.kubeconfig());
        assertEquals(java.util.Set.of("a", "b"), o.namespaces());
        assertEquals(java.util.Set.of("10.0.0.1", "lb.example.com"), java.util.Set.copyOf(o.statusAddresses()));
        assertEquals(java.util.Set.of("x"), o.compiler().legacyClassNames());
        assertEquals(Path.of("/tmp/r"), o.routes());
        assertFalse(o.inCluster());
        assertTrue(AgentMain.parse(java.util.List.of()).inCluster());
    }

    @Test
    void onceWithManifestsPublishesAndExits() throws Exception {
        Path routes = tmp.resolve("routes");
        Run r = run("agent", "--manifests", "samples/demo", "--routes", routes.toString(), "--once");
        assertEquals(0, r.code(), r.out());
        try (var reader = io.sluice.routetable.shm.RouteTableFileReader.open(routes)) {
            var t = reader.poll();
            assertNotNull(t);
            assertEquals(2, t.hosts().size());
            assertEquals("WRITER_CLOSED", reader.writerState());
        }
    }
}
