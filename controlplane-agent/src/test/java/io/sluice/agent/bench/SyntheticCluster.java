package io.sluice.agent.bench;

import static io.sluice.agent.Fixtures.*;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.sluice.agent.ClusterState;
import java.util.ArrayList;
import java.util.List;

/**
 * A large, plausible cluster for the compile benchmark: {@code ingresses} Ingresses over 100 namespaces, each with one
 * host and two paths (Prefix {@code /} to its app Service by port number, and a Prefix or Exact API path to a shared
 * per-namespace API Service by port name), one Service and one EndpointSlice of three endpoints per app, and every
 * 50th Ingress adding a wildcard host.
 */
public final class SyntheticCluster {
    public static final int NAMESPACES = 100;

    private SyntheticCluster() {
    }

    public static ClusterState build(int ingresses) {
        ClusterState s = new ClusterState();
        for (HasMetadata o : objects(ingresses)) {
            s.upsert(o);
        }
        return s;
    }

    /** The cluster's objects, in the order {@link #build} loads them (also written as manifests by benchmarks). */
    public static List<HasMetadata> objects(int ingresses) {
        List<HasMetadata> out = new ArrayList<>(3 * ingresses + 2 * NAMESPACES + 1);
        out.add(ourClass());
        for (int n = 0; n < NAMESPACES; n++) {
            String ns = "team-" + n;
            out.add(service(ns, "api", port("http", 80, 8080)));
            out.add(slice(ns, "api-1", "api", "http", 8080, endpoints(n, 1000, 3)));
        }
        for (int i = 0; i < ingresses; i++) {
            int n = i % NAMESPACES;
            String ns = "team-" + n;
            String app = "app-" + i;
            out.add(service(ns, app, port("http", 80, 8080)));
            out.add(slice(ns, app + "-1", app, "http", 8080, endpoints(n, i, 3)));
            out.add(new Fixtures_Ing(ns, app, i).build());
        }
        return out;
    }

    /** Moves every endpoint of namespace team-0's apps: an endpoint-only change touching 1% of the slices. */
    public static void rollEndpoints(ClusterState s, int ingresses, int round) {
        for (int i = 0; i < ingresses; i += NAMESPACES) {
            String app = "app-" + i;
            s.upsert(slice("team-0", app + "-1", app, "http", 8080, endpoints(round + 7, i, 3)));
        }
    }

    static Endpoint[] endpoints(int a, int b, int count) {
        Endpoint[] eps = new Endpoint[count];
        for (int k = 0; k < count; k++) {
            eps[k] = ready("10." + (a & 255) + "." + ((b >> 8) & 255) + "." + ((b + k * 37) & 255));
        }
        return eps;
    }

    /** Builds one Ingress of the synthetic cluster. */
    private record Fixtures_Ing(String ns, String app, int i) {
        io.fabric8.kubernetes.api.model.networking.v1.Ingress build() {
            var ing = ingress(ns, app).created(String.format("2024-01-01T%02d:%02d:%02dZ", (i / 3600) % 24,
                    (i / 60) % 60, i % 60))
                .rule(app + "." + ns + ".example.com",
                    path("Prefix", "/", svc(app, 80)),
                    path(i % 3 == 0 ? "Exact" : "Prefix", "/api/v" + (i % 3), svc("api", "http")));
            if (i % 50 == 0) {
                ing.rule("*." + app + ".example.com", path("Prefix", "/", svc(app, 80)));
            }
            return ing.build();
        }
    }
}
