package io.sluice.routetable.shm;

import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.VirtualHost;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic route tables for tests: the same arguments always give an equal table. */
final class Tables {
    private Tables() {
    }

    /** Routes determined by {@code routesSeed}, endpoints by {@code endpointsSeed}. */
    static RouteTable table(long generation, long routesSeed, long endpointsSeed, int hosts, int pathsPerHost) {
        SplittableRandom r = new SplittableRandom(routesSeed);
        int backendCount = Math.max(1, hosts / 2 + r.nextInt(3));
        List<Backend> backends = new ArrayList<>(backendCount);
        SplittableRandom e = new SplittableRandom(endpointsSeed);
        Balancer[] balancers = Balancer.values();
        for (int b = 0; b < backendCount; b++) {
            int n = e.nextInt(5);
            List<Endpoint> eps = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String host = e.nextInt(10) == 0 ? "backend-" + i + ".svc.cluster.local"
                    : "10." + e.nextInt(256) + "." + e.nextInt(256) + "." + e.nextInt(256);
                eps.add(new Endpoint(host, 1 + e.nextInt(65535), 1 + e.nextInt(10), e.nextInt(7) == 0));
            }
            backends.add(new Backend("ns" + (b % 7) + "/svc-" + b + ":" + (80 + r.nextInt(3)),
                balancers[r.nextInt(balancers.length)], eps,
                io.sluice.routetable.BackendProtocol.values()[b % io.sluice.routetable.BackendProtocol.values().length],
                b % 4 == 1 ? new io.sluice.routetable.UpstreamTls(true, "ca-" + b, "chain", "key", "svc-" + b) : null));
        }
        List<VirtualHost> vhs = new ArrayList<>(hosts);
        for (int h = 0; h < hosts; h++) {
            String host = switch (h % 5) {
                case 0 -> "";
                case 1 -> "*.zone" + h + ".example.com";
                default -> "host" + h + "-" + r.nextInt(1000) + ".example.com";
            };
            if (h % 5 == 0 && h > 0) {
                host = "h" + h + ".example.org";
            }
            int np = 1 + r.nextInt(pathsPerHost);
            List<PathRule> rules = new ArrayList<>(np);
            for (int p = 0; p < np; p++) {
                String path = p == 0 ? "/" : "/p" + p + "/seg" + r.nextInt(100);
                rules.add(new PathRule(path, p % 3 == 1 ? PathType.EXACT : PathType.PREFIX,
                    r.nextInt(backendCount), "ingress ns" + (h % 7) + "/ing-" + h + " ünïcödé"));
            }
            vhs.add(new VirtualHost(host, rules));
        }
        List<TlsCertificate> tls = new ArrayList<>();
        if (hosts > 2) {
            tls.add(new TlsCertificate("ns0/tls-" + routesSeed, List.of("host2-x.example.com", "*.example.net"),
                "-----BEGIN CERTIFICATE-----\nMIIB" + routesSeed + "\n-----END CERTIFICATE-----\n",
                "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"));
            tls.add(new TlsCertificate("ns1/default", List.of(), "chain", "key"));
            tls.add(new TlsCertificate("ns2/strict", List.of("h5.example.org"), "chain2", "key2",
                new io.sluice.routetable.TlsOptions(List.of("TLSv1.3"), "ECDHE+AESGCM", "max-age=60", Boolean.TRUE,
                    io.sluice.routetable.TlsOptions.ClientAuth.OPTIONAL, "ca-pem", false)));
            tls.add(new TlsCertificate("ns2/pass", List.of("pass.example.org"), "", "",
                new io.sluice.routetable.TlsOptions(List.of(), "", "", Boolean.FALSE,
                    io.sluice.routetable.TlsOptions.ClientAuth.OFF, "", true)));
        }
        return new RouteTable(generation, vhs, backends, r.nextInt(4) == 0 ? -1 : r.nextInt(backendCount), tls);
    }

    /** The table the stress tests publish for generation {@code g}: routes change every fourth generation. */
    static RouteTable forGeneration(long g) {
        long routes = g / 4;
        int hosts = 1 + (int) (routes % 40);
        return table(g, routes, g * 31 + 7, hosts, 6);
    }
}
