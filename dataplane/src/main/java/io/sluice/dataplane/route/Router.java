package io.sluice.dataplane.route;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.dataplane.http.Ascii;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.VirtualHost;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The route table compiled for matching on request bytes. Immutable once built and shared by every shard.
 *
 * <p>Host choice (as nginx picks a server block, and as Kubernetes orders host rules): an exact host beats a
 * wildcard ({@code *.example.com}, whose star is exactly one label), which beats the any-host block; a request picks
 * one block, and if none of its paths match it goes to the default backend (404 when there is none). Host bytes are
 * compared case-insensitively, without the port and without a trailing dot.
 *
 * <p>Path choice within a block: an Exact rule equal to the path, else the longest Prefix rule that matches whole
 * path elements ({@code /foo} matches {@code /foo}, {@code /foo/} and {@code /foo/x}, not {@code /foobar}; a trailing
 * slash in a Prefix rule is ignored). Hosts are found by hashing the bytes into an open-addressing table.
 */
public final class Router {
    private final HostBlock[] exactSlots;
    private final HostBlock[] wildcardSlots;
    private final HostBlock anyHost;
    private final Route defaultRoute;
    private final long generation;

    private Router(HostBlock[] exact, HostBlock[] wildcard, HostBlock anyHost, Route defaultRoute, long generation) {
        this.exactSlots = exact;
        this.wildcardSlots = wildcard;
        this.anyHost = anyHost;
        this.defaultRoute = defaultRoute;
        this.generation = generation;
    }

    public long generation() {
        return generation;
    }

    /** The same compiled rules under another generation (for endpoint-only table changes: nothing is rebuilt). */
    public Router withGeneration(long newGeneration) {
        return new Router(exactSlots, wildcardSlots, anyHost, defaultRoute, newGeneration);
    }

    public static Router compile(RouteTable table) {
        List<HostBlock> exact = new ArrayList<>();
        List<HostBlock> wildcard = new ArrayList<>();
        HostBlock any = null;
        List<VirtualHost> hosts = table.hosts();
        for (int hi = 0; hi < hosts.size(); hi++) {
            VirtualHost vh = hosts.get(hi);
            HostBlock block = new HostBlock(vh, hi);
            if (vh.host().isEmpty()) {
                any = block;
            } else if (vh.isWildcard()) {
                wildcard.add(block);
            } else {
                exact.add(block);
            }
        }
        Route def = table.defaultBackend() < 0 ? null
            : new Route(table.defaultBackend(), null, "default backend", "", -1);
        return new Router(slots(exact), slots(wildcard), any, def, table.generation());
    }

    private static HostBlock[] slots(List<HostBlock> blocks) {
        int size = Integer.highestOneBit(Math.max(4, blocks.size() * 2 - 1)) << 1;
        HostBlock[] slots = new HostBlock[size];
        for (HostBlock b : blocks) {
            int i = b.hash & (size - 1);
            while (slots[i] != null) {
                i = (i + 1) & (size - 1);
            }
            slots[i] = b;
        }
        return slots;
    }

    /**
     * Matches a request. {@code hostStart < 0} means the request had no host (HTTP/1.0). {@code hostEnd} must exclude
     * any port. An empty path ({@code *} or {@code http://h?q}) is matched as {@code /}.
     *
     * @return the route, or null for 404
     */
    public Route match(ByteBuf buf, int hostStart, int hostEnd, int pathStart, int pathEnd) {
        HostBlock block = null;
        if (hostStart >= 0) {
            if (hostEnd > hostStart && buf.getByte(hostEnd - 1) == '.') {
                hostEnd--;
            }
            block = find(exactSlots, buf, hostStart, hostEnd);
            if (block == null) {
                int dot = buf.indexOf(hostStart, hostEnd, (byte) '.');
                if (dot > hostStart) {
                    block = find(wildcardSlots, buf, dot + 1, hostEnd);
                }
            }
        }
        if (block == null) {
            block = anyHost;
        }
        if (block != null) {
            Route r = block.match(buf, pathStart, pathEnd);
            if (r != null) {
                return r;
            }
        }
        return defaultRoute;
    }

    private static HostBlock find(HostBlock[] slots, ByteBuf buf, int s, int e) {
        int h = hashLower(buf, s, e);
        int mask = slots.length - 1;
        int i = h & mask;
        HostBlock b;
        while ((b = slots[i]) != null) {
            if (b.hash == h && b.key.length == e - s && Ascii.equalsIgnoreCase(buf, s, e - s, b.key)) {
                return b;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    static int hashLower(ByteBuf buf, int s, int e) {
        int h = 0x811c9dc5;
        for (int i = s; i < e; i++) {
            h = (h ^ Ascii.lower(buf.getByte(i))) * 0x01000193;
        }
        return h ^ (h >>> 16);
    }

    /** Convenience for tools and tests: matches a host and a path given as text. */
    public Route explain(String host, String path) {
        String p = path.isEmpty() ? "/" : path;
        int q = p.indexOf('?');
        if (q >= 0) {
            p = p.substring(0, q);
        }
        String h = host == null ? "" : host;
        if (!h.startsWith("[")) {
            int colon = h.indexOf(':');
            if (colon >= 0) {
                h = h.substring(0, colon);
            }
        }
        ByteBuf buf = Unpooled.copiedBuffer(h + p, StandardCharsets.US_ASCII);
        int hostEnd = h.length();
        return match(buf, host == null ? -1 : 0, hostEnd, hostEnd, hostEnd + p.length());
    }

    /** The rules of one host block, ordered for matching. */
    static final class HostBlock {
        final byte[] key;
        final int hash;
        final byte[][] exactPaths;
        final Route[] exactRoutes;
        /** Sorted longest first; stored without a trailing slash ("/" is stored as empty). */
        final byte[][] prefixes;
        final Route[] prefixRoutes;

        HostBlock(VirtualHost vh, int hostIndex) {
            String k = vh.isWildcard() ? vh.host().substring(2) : vh.host();
            key = k.getBytes(StandardCharsets.US_ASCII);
            ByteBuf kb = Unpooled.wrappedBuffer(key);
            hash = hashLower(kb, 0, key.length);
            List<PathRule> exact = new ArrayList<>();
            List<PathRule> prefix = new ArrayList<>();
            for (PathRule r : vh.paths()) {
                (r.type() == PathType.EXACT ? exact : prefix).add(r);
            }
            exactPaths = new byte[exact.size()][];
            exactRoutes = new Route[exact.size()];
            for (int i = 0; i < exact.size(); i++) {
                PathRule r = exact.get(i);
                exactPaths[i] = r.path().getBytes(StandardCharsets.US_ASCII);
                exactRoutes[i] = new Route(r.backend(), vh.host(), "Exact " + r.path(), r.source(), hostIndex);
            }
            // Longest first; on equal length, the order given (the agent already resolved conflicts).
            prefix.sort(Comparator.comparingInt((PathRule r) -> -stripSlash(r.path()).length()));
            prefixes = new byte[prefix.size()][];
            prefixRoutes = new Route[prefix.size()];
            for (int i = 0; i < prefix.size(); i++) {
                PathRule r = prefix.get(i);
                prefixes[i] = stripSlash(r.path()).getBytes(StandardCharsets.US_ASCII);
                prefixRoutes[i] = new Route(r.backend(), vh.host(), "Prefix " + r.path(), r.source(), hostIndex);
            }
        }

        private static String stripSlash(String p) {
            String s = p;
            while (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
            return s;
        }

        Route match(ByteBuf buf, int ps, int pe) {
            int len = pe - ps;
            if (len == 0) {
                // Empty path is "/": only Exact "/" or Prefix "/" match.
                for (int i = 0; i < exactPaths.length; i++) {
                    if (exactPaths[i].length == 1) {
                        return exactRoutes[i];
                    }
                }
                for (int i = 0; i < prefixes.length; i++) {
                    if (prefixes[i].length == 0) {
                        return prefixRoutes[i];
                    }
                }
                return null;
            }
            for (int i = 0; i < exactPaths.length; i++) {
                byte[] p = exactPaths[i];
                if (p.length == len && bytesEqual(buf, ps, p)) {
                    return exactRoutes[i];
                }
            }
            for (int i = 0; i < prefixes.length; i++) {
                byte[] p = prefixes[i];
                int pl = p.length;
                if (pl <= len && bytesEqual(buf, ps, p) && (pl == len || buf.getByte(ps + pl) == '/')) {
                    return prefixRoutes[i];
                }
            }
            return null;
        }

        private static boolean bytesEqual(ByteBuf buf, int at, byte[] p) {
            for (int i = 0; i < p.length; i++) {
                if (buf.getByte(at + i) != p[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
