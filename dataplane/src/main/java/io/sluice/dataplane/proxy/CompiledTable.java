package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.L4Settings;
import io.sluice.dataplane.l4.L4Table;
import io.sluice.dataplane.route.Router;
import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.RouteTable;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A route table made ready for the shards, once, on the thread that received it: the byte-level {@link Router} and
 * every endpoint address resolved. Immutable and shared by all shards; each shard derives its own mutable balancing
 * and pooling state from it on its own thread ({@link ShardBackend}).
 */
public final class CompiledTable {
    public final RouteTable source;
    public final Router router;
    public final BackendSpec[] backends;
    /** The L4 services, with their Maglev tables (unchanged services keep the previous table's specs). */
    public final L4Table l4;
    public final long compiledNanos;

    public CompiledTable(RouteTable source) {
        this(source, null, null);
    }

    /**
     * Compiles {@code source} as the successor of {@code previous} (may be null). With {@code sameRules} non-null
     * the hosts and rules are unchanged and its router is reused (endpoint updates). A backend equal to the one at
     * the same index of {@code previous} keeps its spec object, so that shards keep their view of it (see
     * {@code Shard.install}): an update then costs in proportion to what changed, not to the table.
     */
    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous) {
        this(source, sameRules, previous, L4Settings.DEFAULT_MAGLEV_TABLE_SIZE);
    }

    /** As above, with the default Maglev table size of L4 services that do not set theirs ({@code l4.maglevTableSize}). */
    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous, int maglevTableSize) {
        this.source = source;
        this.l4 = L4Table.compile(source.l4(), previous == null ? null : previous.l4, maglevTableSize);
        this.router = sameRules != null ? sameRules.withGeneration(source.generation()) : Router.compile(source);
        this.backends = new BackendSpec[source.backends().size()];
        for (int i = 0; i < backends.length; i++) {
            Backend b = source.backends().get(i);
            boolean same = previous != null && i < previous.backends.length
                && previous.source.backends().get(i).equals(b);
            backends[i] = same ? previous.backends[i] : new BackendSpec(b);
        }
        this.compiledNanos = System.nanoTime();
    }

    public long generation() {
        return source.generation();
    }

    /** One backend with its endpoints resolved. */
    public static final class BackendSpec {
        public final String name;
        public final Balancer balancer;
        public final EndpointSpec[] endpoints;

        BackendSpec(Backend b) {
            name = b.name();
            balancer = b.balancer();
            endpoints = new EndpointSpec[b.endpoints().size()];
            for (int i = 0; i < endpoints.length; i++) {
                endpoints[i] = new EndpointSpec(b.endpoints().get(i));
            }
        }
    }

    /** One endpoint: its socket address, and the bytes of a Host value for requests that arrive without one. */
    public static final class EndpointSpec {
        public final String key;
        public final InetSocketAddress address;
        public final int weight;
        public final boolean draining;
        public final byte[] hostHeaderValue;

        EndpointSpec(Endpoint e) {
            key = e.toString();
            address = new InetSocketAddress(e.host(), e.port());
            weight = e.weight();
            draining = e.draining();
            hostHeaderValue = key.getBytes(StandardCharsets.US_ASCII);
        }
    }
}
