package io.sluice.dataplane.proxy;

import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Constructor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class ShardBackendTest {
    private static ShardEndpoint ep(int port, int weight, boolean draining) throws Exception {
        Constructor<CompiledTable.EndpointSpec> c = CompiledTable.EndpointSpec.class.getDeclaredConstructor(Endpoint.class);
        c.setAccessible(true);
        CompiledTable.EndpointSpec spec = c.newInstance(new Endpoint("127.0.0.1", port, weight, draining));
        return new ShardEndpoint(spec, new UpstreamPool(spec.key, spec.address, 10, 10, 10));
    }

    @Test
    void roundRobinSkipsDraining() throws Exception {
        ShardEndpoint a = ep(1, 1, false);
        ShardEndpoint b = ep(2, 1, true);
        ShardEndpoint c = ep(3, 1, false);
        ShardBackend sb = new ShardBackend("x", Balancer.ROUND_ROBIN, new ShardEndpoint[] {a, b, c}, 0);
        for (int i = 0; i < 10; i++) {
            ShardEndpoint e = sb.pick();
            assertSame(i % 2 == 0 ? a : c, e);
        }
    }

    @Test
    void smoothWeightedInterleaves() throws Exception {
        ShardEndpoint a = ep(1, 5, false);
        ShardEndpoint b = ep(2, 1, false);
        ShardEndpoint c = ep(3, 1, false);
        ShardBackend sb = new ShardBackend("x", Balancer.WEIGHTED, new ShardEndpoint[] {a, b, c}, 0);
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            ShardEndpoint e = sb.pick();
            seq.append(e == a ? 'a' : e == b ? 'b' : 'c');
        }
        assertEquals("aabacaa", seq.toString(), "nginx's smooth weighted sequence for 5:1:1");
    }

    @Test
    void leastRequestPrefersTheLessLoaded() throws Exception {
        ShardEndpoint busy = ep(1, 1, false);
        ShardEndpoint idle = ep(2, 1, false);
        busy.active = 10;
        ShardBackend sb = new ShardBackend("x", Balancer.LEAST_REQUEST, new ShardEndpoint[] {busy, idle}, 42);
        for (int i = 0; i < 50; i++) {
            assertSame(idle, sb.pick(), "with two endpoints both are compared every time");
        }
        Map<ShardEndpoint, Integer> counts = new HashMap<>();
        ShardEndpoint[] many = {ep(1, 1, false), ep(2, 1, false), ep(3, 1, false), ep(4, 1, false)};
        ShardBackend spread = new ShardBackend("y", Balancer.LEAST_REQUEST, many, 7);
        for (int i = 0; i < 4000; i++) {
            counts.merge(spread.pick(), 1, Integer::sum);
        }
        for (ShardEndpoint e : many) {
            int n = counts.getOrDefault(e, 0);
            assertEquals(1000, n, 200, "equal load spreads evenly");
        }
    }

    @Test
    void allDrainingOrEmptyGivesNone() throws Exception {
        assertNull(new ShardBackend("x", Balancer.ROUND_ROBIN, new ShardEndpoint[0], 1).pick());
        for (Balancer b : List.of(Balancer.values())) {
            assertNull(new ShardBackend("x", b, new ShardEndpoint[] {ep(1, 1, true), ep(2, 1, true)}, 1).pick(), b.name());
        }
    }
}
