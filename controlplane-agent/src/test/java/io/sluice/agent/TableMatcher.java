package io.sluice.agent;

import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;
import java.util.Locale;

/**
 * Matches requests against a compiled {@link RouteTable} the way the route-table contract says the data plane does:
 * the most specific virtual host (exact name, else the one-label wildcard, else the any-host entry), then within it
 * the best rule (Exact beats Prefix on the same path, else the longest prefix; Prefix matches whole path elements);
 * no rule: the default backend, else 404 (null).
 */
final class TableMatcher {
    private final RouteTable table;

    TableMatcher(RouteTable table) {
        this.table = table;
    }

    VirtualHost host(String requestHost) {
        String h = requestHost.toLowerCase(Locale.ROOT);
        VirtualHost any = null;
        VirtualHost wildcard = null;
        for (VirtualHost vh : table.hosts()) {
            if (vh.host().equals(h)) {
                return vh;
            }
            if (vh.host().isEmpty()) {
                any = vh;
            } else if (vh.isWildcard()) {
                int dot = h.indexOf('.');
                if (dot > 0 && h.substring(dot).equals(vh.host().substring(1))) {
                    wildcard = vh;
                }
            }
        }
        return wildcard != null ? wildcard : any;
    }

    static boolean matches(PathRule r, String path) {
        if (r.type() == PathType.EXACT) {
            return r.path().equals(path);
        }
        String p = r.path();
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (p.equals("/")) {
            return true;
        }
        return path.equals(p) || path.startsWith(p + "/");
    }

    static int prefixLength(PathRule r) {
        String p = r.path();
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.length();
    }

    /** The best rule by precedence, regardless of list order. */
    PathRule best(String host, String path) {
        VirtualHost vh = host(host);
        if (vh == null) {
            return null;
        }
        PathRule best = null;
        for (PathRule r : vh.paths()) {
            if (!matches(r, path)) {
                continue;
            }
            if (best == null || better(r, best)) {
                best = r;
            }
        }
        return best;
    }

    private static boolean better(PathRule a, PathRule b) {
        if (a.type() == PathType.EXACT && b.type() != PathType.EXACT) {
            return true;
        }
        if (b.type() == PathType.EXACT && a.type() != PathType.EXACT) {
            return false;
        }
        return prefixLength(a) > prefixLength(b);
    }

    /** The first matching rule in the table's own order. */
    PathRule first(String host, String path) {
        VirtualHost vh = host(host);
        if (vh == null) {
            return null;
        }
        for (PathRule r : vh.paths()) {
            if (matches(r, path)) {
                return r;
            }
        }
        return null;
    }

    /** The backend name a request goes to, or null for 404. */
    String backend(String host, String path) {
        PathRule r = best(host, path);
        if (r != null) {
            return table.backends().get(r.backend()).name();
        }
        return table.defaultBackend() < 0 ? null : "default:" + table.backends().get(table.defaultBackend()).name();
    }
}
