package io.sluice.dataplane.route;

import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class RouterTest {
    private static PathRule p(String path, PathType t, int backend) {
        return new PathRule(path, t, backend, "");
    }

    private static Router router(int defaultBackend) {
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            backends.add(new Backend("b" + i, Balancer.ROUND_ROBIN, List.of()));
        }
        return Router.compile(new RouteTable(1, List.of(
            new VirtualHost("foo.example.com", List.of(
                p("/", PathType.PREFIX, 0),
                p("/api", PathType.PREFIX, 1),
                p("/api/v2/", PathType.PREFIX, 2),
                p("/api/exact", PathType.EXACT, 3),
                p("/aaa/bbb", PathType.PREFIX, 4))),
            new VirtualHost("*.example.com", List.of(p("/", PathType.PREFIX, 5))),
            new VirtualHost("", List.of(p("/any", PathType.PREFIX, 6)))),
            backends, defaultBackend));
    }

    private static int backend(Router r, String host, String path) {
        Route route = r.explain(host, path);
        return route == null ? -1 : route.backend;
    }

    @Test
    void kubernetesPathSemantics() {
        Router r = router(9);
        String h = "foo.example.com";
        assertEquals(0, backend(r, h, "/"));
        assertEquals(1, backend(r, h, "/api"));
        assertEquals(1, backend(r, h, "/api/"));
        assertEquals(1, backend(r, h, "/api/users"));
        assertEquals(0, backend(r, h, "/apix"), "prefix matches whole elements only");
        assertEquals(2, backend(r, h, "/api/v2"), "trailing slash in a prefix rule is ignored");
        assertEquals(2, backend(r, h, "/api/v2/x"));
        assertEquals(3, backend(r, h, "/api/exact"), "Exact beats a longer-or-equal Prefix");
        assertEquals(1, backend(r, h, "/api/exact/"), "Exact does not match with a trailing slash");
        assertEquals(4, backend(r, h, "/aaa/bbb/ccc"));
        assertEquals(0, backend(r, h, "/aaa/bbbxyz"));
        assertEquals(1, backend(r, h, "/api?x=/api/v2"), "query is not part of the path");
    }

    @Test
    void hostSemantics() {
        Router r = router(9);
        assertEquals(0, backend(r, "FOO.Example.COM", "/"), "host is case-insensitive");
        assertEquals(0, backend(r, "foo.example.com:8080", "/"), "port ignored");
        assertEquals(0, backend(r, "foo.example.com.", "/"), "trailing dot ignored");
        assertEquals(5, backend(r, "bar.example.com", "/x"), "wildcard");
        assertEquals(6, backend(r, "a.b.example.com", "/any"), "wildcard covers exactly one label");
        assertEquals(9, backend(r, "example.com", "/"), "wildcard needs a label");
        assertEquals(6, backend(r, "other.org", "/any/thing"));
        assertEquals(9, backend(r, "other.org", "/nothing"), "default backend");
        assertEquals(9, backend(r, null, "/nothing"));
        assertEquals(6, backend(r, null, "/any"), "no Host: any-host block");
    }

    @Test
    void hostBlockWithoutMatchingPathUsesDefault() {
        Router r = Router.compile(new RouteTable(1, List.of(
            new VirtualHost("a.test", List.of(p("/x", PathType.EXACT, 0))),
            new VirtualHost("", List.of(p("/", PathType.PREFIX, 1)))),
            List.of(new Backend("x", Balancer.ROUND_ROBIN, List.of()), new Backend("y", Balancer.ROUND_ROBIN, List.of())),
            -1));
        assertEquals(0, backend(r, "a.test", "/x"));
        assertNull(r.explain("a.test", "/y"), "the exact host block is chosen; no fall-through: 404");
        assertEquals(1, backend(r, "b.test", "/y"));
    }

    @Test
    void manyHostsHash() {
        List<VirtualHost> hosts = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            hosts.add(new VirtualHost("h" + i + ".example.org", List.of(p("/", PathType.PREFIX, i % 3))));
        }
        Router r = Router.compile(new RouteTable(1, hosts,
            List.of(new Backend("a", Balancer.ROUND_ROBIN, List.of()), new Backend("b", Balancer.ROUND_ROBIN, List.of()),
                new Backend("c", Balancer.ROUND_ROBIN, List.of())), -1));
        for (int i = 0; i < 5000; i++) {
            assertEquals(i % 3, backend(r, "h" + i + ".example.org", "/z"));
        }
        assertNull(r.explain("h5000.example.org", "/"));
    }
}
