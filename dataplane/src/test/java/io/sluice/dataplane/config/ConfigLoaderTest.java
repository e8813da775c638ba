package io.sluice.dataplane.config;

import io.sluice.routetable.Balancer;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {
    @Test
    void fullConfig() {
        DataPlaneConfig c = ConfigLoader.parse("""
            listeners: [{port: 9000, address: 127.0.0.1}]
            cpus: "0,2-3"
            idle: backoff
            timeouts: {connectMs: 100, readMs: 200, idleMs: 300}
            limits: {maxBodyBytes: 1000}
            trustForwarded: true
            backends:
              - name: a
                balancer: least-request
                endpoints: ["10.0.0.1:80", {address: "[::1]:81", weight: 5}]
            routes:
              - host: Example.COM
                paths:
                  - {path: /x, type: Exact, backend: a}
                  - {path: /y, type: ImplementationSpecific, backend: a}
            defaultBackend: a
            """, 7);
        assertEquals(9000, c.listeners().get(0).port());
        assertArrayEquals(new int[] {0, 2, 3}, c.cpus());
        assertEquals(IdleMode.BACKOFF, c.idle());
        assertEquals(200, c.timeouts().readMs());
        assertEquals(1000, c.limits().maxBodyBytes());
        assertEquals(8192, c.limits().maxRequestLineBytes(), "defaults kept");
        assertTrue(c.trustForwarded());
        RouteTable t = c.routes();
        assertEquals(7, t.generation());
        assertEquals(Balancer.LEAST_REQUEST, t.backends().get(0).balancer());
        assertEquals("::1", t.backends().get(0).endpoints().get(1).host());
        assertEquals(5, t.backends().get(0).endpoints().get(1).weight());
        assertEquals("example.com", t.hosts().get(0).host());
        assertEquals(PathType.EXACT, t.hosts().get(0).paths().get(0).type());
        assertEquals(PathType.PREFIX, t.hosts().get(0).paths().get(1).type());
        assertEquals(0, t.defaultBackend());
    }

    @Test
    void errorsNameTheField() {
        assertMessage("routes[0].paths[0].backend: unknown backend 'nope'", """
            backends: [{name: a, endpoints: []}]
            routes: [{host: x, paths: [{path: /, backend: nope}]}]
            """);
        assertMessage("listeners[0]: unknown key 'prot'", "listeners: [{prot: 80}]");
        assertMessage("backends[0].endpoints[0]: endpoint must be host:port", "backends: [{name: a, endpoints: [nohost]}]");
        assertMessage("routes[0].paths[0].path: path must start with '/'", """
            backends: [{name: a, endpoints: []}]
            routes: [{host: x, paths: [{path: rel, backend: a}]}]
            """);
        assertMessage("backends[1].name: backend 'a' is defined twice", "backends: [{name: a}, {name: a}]");
        assertMessage("idle: unknown idle mode 'sometimes'", "idle: sometimes");
        assertMessage("listeners[0].port: port out of range", "listeners: [{port: 70000}]");
        assertMessage("not valid YAML", "routes: [");
        assertMessage("routes: invalid host 'bad host'", """
            backends: [{name: a, endpoints: []}]
            routes: [{host: "bad host", paths: [{path: /, backend: a}]}]
            """);
    }

    private static void assertMessage(String expectedStart, String yaml) {
        ConfigLoader.ConfigException e = assertThrows(ConfigLoader.ConfigException.class,
            () -> ConfigLoader.parse(yaml, 1));
        assertTrue(e.getMessage().startsWith(expectedStart), e.getMessage());
    }
}
