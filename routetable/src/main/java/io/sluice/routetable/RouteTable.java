package io.sluice.routetable;

import java.util.List;
import java.util.Objects;

/**
 * One immutable, versioned snapshot of everything a shard needs to route a request.
 *
 * <p>The agent builds one per change and publishes it; the data plane compiles it into its byte-level matcher
 * and each shard swaps to it between requests. Nothing in a table is ever mutated after construction.
 *
 * @param generation     strictly increasing per publisher; a reader ignores a table whose generation is not newer
 * @param hosts          virtual hosts, at most one per distinct host string
 * @param backends       every backend referenced by an index in {@link PathRule#backend()} or {@link #defaultBackend()}
 * @param defaultBackend index of the backend for requests no rule matches, or -1 (then: 404)
 * @param tls            certificates for TLS termination, selected by server name; empty when the table has none.
 *                       Added after the first four components: the four-argument constructor remains and means "no
 *                       TLS"
 * @param l4             L4 (TCP/UDP) load-balanced ports; empty when the table has none. Added last: every older
 *                       constructor remains and means "no L4 services"
 */
public record RouteTable(long generation, List<VirtualHost> hosts, List<Backend> backends, int defaultBackend,
                         List<TlsCertificate> tls, List<L4Service> l4) {
    public RouteTable {
        Objects.requireNonNull(hosts, "hosts");
        Objects.requireNonNull(backends, "backends");
        Objects.requireNonNull(tls, "tls");
        hosts = List.copyOf(hosts);
        backends = List.copyOf(backends);
        tls = List.copyOf(tls);
        l4 = List.copyOf(Objects.requireNonNull(l4, "l4"));
        if (defaultBackend < -1 || defaultBackend >= backends.size()) {
            throw new IllegalArgumentException("defaultBackend index out of range: " + defaultBackend);
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (VirtualHost vh : hosts) {
            if (!seen.add(vh.host())) {
                throw new IllegalArgumentException("host listed twice: '" + vh.host() + "'");
            }
            for (PathRule r : vh.paths()) {
                if (r.backend() < 0 || r.backend() >= backends.size()) {
                    throw new IllegalArgumentException("rule " + r.path() + " of host '" + vh.host()
                        + "' names backend index " + r.backend() + " of " + backends.size());
                }
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (TlsCertificate c : tls) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("TLS certificate listed twice: '" + c.name() + "'");
            }
        }
        java.util.Set<String> l4Names = new java.util.HashSet<>();
        java.util.Set<String> l4Ports = new java.util.HashSet<>();
        for (L4Service s : l4) {
            if (!l4Names.add(s.name())) {
                throw new IllegalArgumentException("L4 service listed twice: '" + s.name() + "'");
            }
            if (!l4Ports.add(s.listenKey())) {
                throw new IllegalArgumentException("two L4 services listen on " + s.listenKey());
            }
        }
    }

    /** A table with TLS certificates and no L4 services (the five-component form). */
    public RouteTable(long generation, List<VirtualHost> hosts, List<Backend> backends, int defaultBackend,
                      List<TlsCertificate> tls) {
        this(generation, hosts, backends, defaultBackend, tls, List.of());
    }

    /** A table without TLS certificates (the original four-component form). */
    public RouteTable(long generation, List<VirtualHost> hosts, List<Backend> backends, int defaultBackend) {
        this(generation, hosts, backends, defaultBackend, List.of(), List.of());
    }

    /** The same routes, backends, certificates and L4 services under another generation number. */
    public RouteTable withGeneration(long newGeneration) {
        return new RouteTable(newGeneration, hosts, backends, defaultBackend, tls, l4);
    }

    /** The same table with these L4 services instead. */
    public RouteTable withL4(List<L4Service> services) {
        return new RouteTable(generation, hosts, backends, defaultBackend, tls, services);
    }

    public static RouteTable empty(long generation) {
        return new RouteTable(generation, List.of(), List.of(), -1);
    }
}
