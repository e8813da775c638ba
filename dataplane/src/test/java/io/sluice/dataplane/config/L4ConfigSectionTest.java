package io.sluice.dataplane.config;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.L4Service;
import org.junit.jupiter.api.Test;

class L4ConfigSectionTest {
    @Test
    void defaultsWithoutTheSection() {
        DataPlaneConfig c = ConfigLoader.parse("listeners: [{port: 8080}]\n", 1);
        assertEquals(L4Settings.DEFAULT, c.l4());
        assertTrue(c.routes().l4().isEmpty());
    }

    @Test
    void settingsAndServices() {
        DataPlaneConfig c = ConfigLoader.parse("""
            l4:
              connectTimeoutMs: 700
              drainTimeoutMs: 5000
              udpIdleMs: 1000
              udpMaxFlows: 10
              splice: false
              maglevTableSize: 251
              services:
                - {name: echo, port: 7000, endpoints: ["10.0.0.5:7", "10.0.0.6:7"], affinityTimeoutSeconds: 30}
                - {name: dns, protocol: UDP, port: 5353, endpoints: ["10.0.0.7:53"]}
                - {name: pp, protocol: tcp, port: 5353, endpoints: [], proxyProtocol: true}
            """, 3);
        assertEquals(700, c.l4().connectTimeoutMs());
        assertEquals(5000, c.l4().drainTimeoutMs());
        assertFalse(c.l4().splice());
        assertEquals(251, c.l4().maglevTableSize());
        assertEquals(3, c.routes().l4().size());
        L4Service echo = c.routes().l4().get(0);
        assertEquals(L4Service.Protocol.TCP, echo.protocol());
        assertEquals(30, echo.affinityTimeoutSeconds());
        assertEquals(2, echo.endpoints().size());
        assertEquals(L4Service.Protocol.UDP, c.routes().l4().get(1).protocol());
        assertTrue(c.routes().l4().get(2).proxyProtocol());
    }

    @Test
    void strictErrorsNameTheField() {
        assertError("l4: {splize: true}", "l4: unknown key 'splize'");
        assertError("l4: {maglevTableSize: 65536}", "l4.maglevTableSize: 65536 is not a prime");
        assertError("l4: {services: [{name: a, port: 70000}]}", "l4.services[0].port: port out of range");
        assertError("l4: {services: [{name: a, port: 7, protocol: SCTP}]}", "l4.services[0].protocol");
        assertError("l4: {services: [{name: a, port: 7}, {name: b, port: 7}]}",
            "l4.services[1].port: another L4 service already listens on TCP 7");
        assertError("l4: {services: [{name: a, port: 7, protocol: UDP, proxyProtocol: true}]}",
            "PROXY protocol is for TCP only");
        assertError("l4: {services: [{name: a, port: 7, endpoints: [nope]}]}", "l4.services[0].endpoints[0]");
    }

    private static void assertError(String yaml, String expected) {
        ConfigLoader.ConfigException e = assertThrows(ConfigLoader.ConfigException.class,
            () -> ConfigLoader.parse(yaml, 1));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
