package io.sluice.dataplane.ops;

import io.sluice.dataplane.route.Route;
import io.sluice.dataplane.route.Router;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.RouteTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the router picks for a host and a path, and why: shared by {@code sluice explain} (text) and the admin
 * endpoint {@code /explain} (JSON, with each endpoint's health on this node).
 */
public final class Explainer {
    private Explainer() {
    }

    /** @param route null: no match (404) */
    public record Explanation(String host, String path, Route route, Backend backend) {
        /** The lines {@code sluice explain} prints. */
        public List<String> lines() {
            List<String> out = new ArrayList<>();
            if (route == null) {
                out.add("no route: 404 (no host block or path matches and there is no default backend)");
                return out;
            }
            out.add("matched: " + route);
            if (route.source != null && !route.source.isEmpty()) {
                out.add("source:  " + route.source);
            }
            List<String> endpoints = new ArrayList<>();
            for (Endpoint e : backend.endpoints()) {
                endpoints.add(e + (e.weight() != 1 ? " weight " + e.weight() : "") + (e.draining() ? " (draining)" : ""));
            }
            out.add("backend: " + backend.name() + " (" + backend.balancer().name().toLowerCase(Locale.ROOT)
                + ") endpoints " + endpoints + (endpoints.isEmpty() ? ": requests get 503" : ""));
            return out;
        }
    }

    public static Explanation explain(RouteTable table, Router router, String host, String path) {
        Route r = router.explain(host, path);
        Backend b = r == null ? null : table.backends().get(r.backend);
        return new Explanation(host, path, r, b);
    }

    /** The explanation as JSON; {@code health} (may be null) adds each endpoint's active-check state. */
    static String json(Explanation x, HealthRegistry health) {
        Json j = new Json().obj().field("host", x.host()).field("path", x.path()).field("matched", x.route() != null);
        if (x.route() == null) {
            j.field("result", "404: no host block or path matches and there is no default backend");
            return j.end().toString();
        }
        Route r = x.route();
        j.field("hostBlock", r.host == null ? null : r.host.isEmpty() ? "(any host)" : r.host)
            .field("rule", r.rule).field("source", r.source)
            .field("why", r.host == null ? "no rule matched: the default backend"
                : (r.host.isEmpty() ? "the any-host block" : r.host.startsWith("*.") ? "wildcard host" : "exact host")
                + ", " + (r.rule.startsWith("Exact") ? "exact path" : "longest matching prefix"))
            .key("backend").obj().field("name", x.backend().name())
            .field("balancer", x.backend().balancer().name().toLowerCase(Locale.ROOT))
            .key("endpoints").arr();
        for (Endpoint e : x.backend().endpoints()) {
            EndpointHealth h = health == null ? null : health.all().get(e.toString());
            j.obj().field("address", e.toString()).field("weight", e.weight()).field("draining", e.draining())
                .field("healthy", h == null || h.healthy()).end();
        }
        j.endArr().end();
        if (x.backend().endpoints().isEmpty()) {
            j.field("result", "503: the backend has no endpoints");
        }
        return j.end().toString();
    }
}
