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
 */
public record RouteTable(long generation, List<VirtualHost> hosts, List<Backend> backends, int defaultBackend,
                         List<TlsCertificate> tls) {
    public RouteTable {
        Objects.requireNonNull(hosts, "hosts");
        Objects.requireNonNull(backends, "backends");
        Objects.requireNonNull(tls, "tls");
        hosts = List.copyOf(hosts);
        backends = List.copyOf(backends);
        tls = List.copyOf(tls);
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
    }

    /** A table without TLS certificates (the original four-component form). */
    public RouteTable(long generation, List<VirtualHost> hosts, List<Backend> backends, int defaultBackend) {
        this(generation, hosts, backends, defaultBackend, List.of());
    }

    /** The same routes, backends and certificates under another generation number. */
    public RouteTable withGeneration(long newGeneration) {
        return new RouteTable(newGeneration, hosts, backends, defaultBackend, tls);
    }

    public static RouteTable empty(long generation) {
        return new RouteTable(generation, List.of(), List.of(), -1);
    }
}
