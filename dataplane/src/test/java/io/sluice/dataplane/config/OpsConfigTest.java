package io.sluice.dataplane.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpsConfigTest {
    private static final String BASE = """
        backends:
          - name: web
            endpoints: ["10.0.0.1:80"]
        """;

    @Test
    void defaults() {
        OpsConfig o = ConfigLoader.parse(BASE, 0).ops();
        assertEquals(new OpsConfig.Admin(true, "127.0.0.1", 10254), o.admin());
        assertEquals(25, o.shutdown().drainSeconds());
        assertFalse(o.accessLog().enabled());
        assertFalse(o.health().enabled());
        assertTrue(o.outlier().enabled());
        assertEquals(OpsConfig.Limits.NONE, o.policyFor("web").limits());
    }

    @Test
    void everyKey() {
        OpsConfig o = ConfigLoader.parse("""
            admin: {address: 0.0.0.0, port: 10254}
            shutdown: {drainSeconds: 25}
            accessLog: {path: stdout, format: combined, sample: 0.1}
            health: {type: http, path: /healthz, expectedStatus: "200-299", intervalMs: 2000, jitterMs: 100,
                     timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2}
            outlier: {consecutive5xx: 3, consecutiveConnectFailures: 2, baseEjectionMs: 1000, maxEjectionMs: 8000,
                      maxEjectionPercent: 30}
            retry: {budgetPercent: 10, minRetriesPerSecond: 5}
            backends:
              - name: web
                endpoints: ["10.0.0.1:80"]
                healthCheck: {type: grpc}
                limits: {maxConnections: 10, maxPending: 5, maxRequests: 100}
            backendPolicies:
              "default/api:80": {limits: {maxRequests: 7}}
            """, 0).ops();
        assertEquals("0.0.0.0", o.admin().address());
        assertEquals(OpsConfig.LogFormat.COMBINED, o.accessLog().format());
        assertEquals(0.1, o.accessLog().sample());
        assertEquals(200, o.health().expectedMin());
        assertEquals(299, o.health().expectedMax());
        assertEquals(OpsConfig.CheckType.GRPC, o.policyFor("web").health().type());
        assertEquals(2000, o.policyFor("web").health().intervalMs(), "unset keys come from the node's health");
        assertEquals(new OpsConfig.Limits(10, 5, 100), o.policyFor("web").limits());
        assertEquals(7, o.policyFor("default/api:80").limits().maxRequests());
        assertEquals(OpsConfig.CheckType.HTTP, o.policyFor("other").health().type());
        assertEquals(30, o.outlier().maxEjectionPercent());
        assertEquals(new OpsConfig.Retry(10, 5), o.retry());
    }

    @Test
    void adminOffAndAccessLogOff() {
        OpsConfig o = ConfigLoader.parse("admin: {enabled: false}\naccessLog: {path: off}\n" + BASE, 0).ops();
        assertFalse(o.admin().enabled());
        assertNull(o.accessLog().path());
    }

    @Test
    void strictErrorsNameTheField() {
        assertEquals("admin: unknown key 'prot' (allowed: [address, enabled, port])", error("admin: {prot: 1}"));
        assertEquals("accessLog.format: 'xml' (expected json or combined)", error("accessLog: {format: xml}"));
        assertEquals("accessLog.sample: expected a number from 0 to 1, got 2", error("accessLog: {sample: 2}"));
        assertEquals("health.type: 'icmp' (expected none, tcp, http or grpc)", error("health: {type: icmp}"));
        assertEquals("health.expectedStatus: '2xx' is not a status or range like 200-399",
            error("health: {expectedStatus: 2xx}"));
        assertEquals("outlier.maxEjectionPercent: at most 100, got 150", error("outlier: {maxEjectionPercent: 150}"));
        assertEquals("backendPolicies.x.limits: unknown key 'max' (allowed: [maxConnections, maxPending, maxRequests])",
            error("backendPolicies: {x: {limits: {max: 1}}}"));
        assertEquals("shutdown.drainSeconds: expected a positive whole number, got -1",
            error("shutdown: {drainSeconds: -1}"));
    }

    private static String error(String yaml) {
        return assertThrows(ConfigLoader.ConfigException.class, () -> ConfigLoader.parse(yaml + "\n" + BASE, 0))
            .getMessage();
    }
}
