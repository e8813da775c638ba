package io.sluice.dataplane.proxy;

import io.netty.handler.ssl.SslContext;
import io.sluice.dataplane.metrics.RouteSeries;
import io.sluice.dataplane.route.Route;
import io.sluice.dataplane.config.L4Settings;
import io.sluice.dataplane.l4.L4Table;
import io.sluice.dataplane.route.Router;
import io.sluice.dataplane.tls.TlsContexts;
import io.sluice.dataplane.tls.TlsEnv;
import io.sluice.dataplane.tls.UpstreamTlsContexts;
import io.sluice.routetable.BackendProtocol;
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
    /** Server contexts by server name; null when the data plane has no TLS listener. */
    public final TlsContexts tls;
    /** Per host of {@code source.hosts()}: HSTS and redirect (null entries: none); empty without TLS. */
    public final TlsContexts.HostPolicy[] hostPolicies;
    /**
     * Metric series number of each route, by {@link Route#id}: numbered here, off the request path, so that shards
     * count into {@code ShardMetrics} arrays with no lookup (see {@link RouteSeries}).
     */
    public final int[] seriesOfRoute;
    /** Wall-clock time the table was compiled (route table age). */
    public final long compiledEpochMillis = System.currentTimeMillis();

    public CompiledTable(RouteTable source) {
        this(source, null, null);
    }

    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous) {
        this(source, sameRules, previous, null);
    }

    /**
     * Compiles {@code source} as the successor of {@code previous} (may be null). With {@code sameRules} non-null
     * the hosts and rules are unchanged and its router is reused (endpoint updates). A backend equal to the one at
     * the same index of {@code previous} keeps its spec object, so that shards keep their view of it (see
     * {@code Shard.install}): an update then costs in proportion to what changed, not to the table.
     */
    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous, TlsEnv tlsEnv) {
        this(source, sameRules, previous, tlsEnv, L4Settings.DEFAULT_MAGLEV_TABLE_SIZE);
    }

    /** Without TLS contexts, with the default Maglev table size of L4 services that do not set theirs. */
    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous, int maglevTableSize) {
        this(source, sameRules, previous, null, maglevTableSize);
    }

    /**
     * @param tlsEnv          the node's TLS settings and ticket keys, or null without TLS listeners
     * @param maglevTableSize Maglev table size of L4 services that do not set theirs ({@code l4.maglevTableSize})
     */
    public CompiledTable(RouteTable source, Router sameRules, CompiledTable previous, TlsEnv tlsEnv,
                         int maglevTableSize) {
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
        if (tlsEnv == null) {
            tls = null;
            hostPolicies = new TlsContexts.HostPolicy[source.hosts().size()];
        } else {
            TlsContexts prev = previous == null ? null : previous.tls;
            tls = prev != null && prev.sameInputs(source.tls()) ? prev
                : TlsContexts.build(source.tls(), tlsEnv.settings(), prev, tlsEnv.keys(), tlsEnv.http2());
            hostPolicies = tls.policies(source.hosts());
        }
        Route[] routes = router.routes();
        this.seriesOfRoute = new int[routes.length];
        for (Route r : routes) {
            String service = r.backend >= 0 && r.backend < backends.length ? backends[r.backend].name : "";
            seriesOfRoute[r.id] = RouteSeries.number(RouteSeries.labels(r.host, r.rule, service, r.source));
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
        public final BackendProtocol protocol;
        public final EndpointSpec[] endpoints;
        /** Client context for TLS to the endpoints; null for cleartext backends or when it could not be built. */
        public final SslContext clientTls;
        /** Why {@link #clientTls} is missing for a TLS backend (its requests get 502), else null. */
        public final String tlsProblem;

        BackendSpec(Backend b) {
            name = b.name();
            balancer = b.balancer();
            protocol = b.protocol();
            SslContext ctx = null;
            String problem = null;
            if (b.tls() != null) {
                try {
                    ctx = UpstreamTlsContexts.build(b.tls(), b.protocol());
                } catch (Exception e) {
                    problem = "backend " + b.name() + ": upstream TLS: " + e.getMessage();
                }
            }
            clientTls = ctx;
            tlsProblem = problem;
            String scheme = b.tls() == null ? null : "tls:" + b.tls().hashCode() + ":";
            String sni = b.tls() == null ? null : b.tls().serverName();
            endpoints = new EndpointSpec[b.endpoints().size()];
            for (int i = 0; i < endpoints.length; i++) {
                endpoints[i] = new EndpointSpec(b.endpoints().get(i), scheme, sni);
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
        /** Server name to send in TLS to this endpoint: the backend's, else the endpoint's host; null: cleartext. */
        public final String tlsServerName;

        EndpointSpec(Endpoint e) {
            this(e, null, null);
        }

        /** @param tlsScheme prefix that keeps TLS pools apart from cleartext ones to the same address, or null */
        EndpointSpec(Endpoint e, String tlsScheme, String sni) {
            key = tlsScheme == null ? e.toString() : tlsScheme + e;
            tlsServerName = tlsScheme == null ? null : sni == null || sni.isEmpty() ? e.host() : sni;
            address = new InetSocketAddress(e.host(), e.port());
            weight = e.weight();
            draining = e.draining();
            hostHeaderValue = e.toString().getBytes(StandardCharsets.US_ASCII);
        }
    }
}
