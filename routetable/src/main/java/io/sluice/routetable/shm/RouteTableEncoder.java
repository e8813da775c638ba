package io.sluice.routetable.shm;

import static io.sluice.routetable.shm.RouteTableImage.*;

import io.sluice.routetable.Backend;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.UpstreamTls;
import io.sluice.routetable.VirtualHost;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes {@link RouteTable}s into {@link RouteTableImage images}, remembering the previous table's ROUTES and TLS
 * sections: when a table differs from the previous one only in its endpoints, those sections are copied as bytes
 * with their old version, and only the ENDPOINTS section is encoded. "Only endpoints" is decided by comparing the
 * host list (by identity first, which the agent preserves when it recompiles endpoints only, else by value), the
 * backends' names, balancers and protocols, the default backend and the certificates.
 *
 * <p>Single-threaded; the writer owns one.
 */
public final class RouteTableEncoder {
    private final ImageSink sink = new ImageSink(64 * 1024);
    private final ImageSink scratch = new ImageSink(4 * 1024);

    private List<VirtualHost> lastHosts;
    private String[] lastBackendNames;
    private byte[] lastBalancers;
    private byte[] lastProtocols;
    private int lastDefaultBackend;
    private byte[] routesBytes;
    private int routesCrc;
    private long routesVersion;

    private List<TlsCertificate> lastTls;
    /** (backend index, UpstreamTls) pairs, flattened, of the last table. */
    private List<Object> lastUpstreamTls;
    private byte[] tlsBytes;
    private int tlsCrc;
    private long tlsVersion;

    private List<L4Service> lastL4;
    private byte[] l4Bytes;
    private int l4Crc;
    private long l4Version;

    private boolean lastRoutesReused;

    /** Forget the previous table: the next encode writes every section anew. */
    public void reset() {
        lastHosts = null;
        lastTls = null;
        lastUpstreamTls = null;
        lastL4 = null;
        routesBytes = null;
        tlsBytes = null;
        l4Bytes = null;
    }

    /** Whether the last {@link #encode} reused the previous ROUTES section (an endpoint-only change). */
    public boolean lastRoutesReused() {
        return lastRoutesReused;
    }

    /** Encodes into an internal buffer; returns the image length. The bytes are {@link #buffer()}[0, length). */
    public int encode(RouteTable table) {
        sink.reset();
        sink.skip(HEADER_LENGTH);
        int[] offsets = new int[SECTION_COUNT];
        int[] lengths = new int[SECTION_COUNT];
        int[] crcs = new int[SECTION_COUNT];
        long[] versions = new long[SECTION_COUNT];
        int[] items = new int[SECTION_COUNT];

        // ROUTES
        lastRoutesReused = routesBytes != null && sameRoutes(table);
        if (!lastRoutesReused) {
            scratch.reset();
            encodeRoutes(table, scratch);
            routesBytes = scratch.toByteArray();
            routesCrc = crc(routesBytes, 0, routesBytes.length);
            routesVersion = table.generation();
            rememberRoutes(table);
        }
        offsets[ROUTES] = sink.position();
        sink.putBytes(routesBytes, 0, routesBytes.length);
        lengths[ROUTES] = routesBytes.length;
        crcs[ROUTES] = routesCrc;
        versions[ROUTES] = routesVersion;
        items[ROUTES] = table.hosts().size();

        // TLS
        List<Object> upstreamTls = upstreamTls(table.backends());
        if (tlsBytes == null || !(table.tls() == lastTls || table.tls().equals(lastTls))
            || !upstreamTls.equals(lastUpstreamTls)) {
            scratch.reset();
            encodeTls(table.tls(), upstreamTls, scratch);
            lastUpstreamTls = upstreamTls;
            tlsBytes = scratch.toByteArray();
            tlsCrc = crc(tlsBytes, 0, tlsBytes.length);
            tlsVersion = table.generation();
            lastTls = table.tls();
        }
        offsets[TLS] = sink.position();
        sink.putBytes(tlsBytes, 0, tlsBytes.length);
        lengths[TLS] = tlsBytes.length;
        crcs[TLS] = tlsCrc;
        versions[TLS] = tlsVersion;
        items[TLS] = table.tls().size();

        // L4: written before ENDPOINTS (the table's order is by index, the bytes' order is free), reused unchanged.
        if (l4Bytes == null || !(table.l4() == lastL4 || table.l4().equals(lastL4))) {
            scratch.reset();
            encodeL4(table.l4(), scratch);
            l4Bytes = scratch.toByteArray();
            l4Crc = crc(l4Bytes, 0, l4Bytes.length);
            l4Version = table.generation();
            lastL4 = table.l4();
        }
        offsets[L4] = sink.position();
        sink.putBytes(l4Bytes, 0, l4Bytes.length);
        lengths[L4] = l4Bytes.length;
        crcs[L4] = l4Crc;
        versions[L4] = l4Version;
        items[L4] = table.l4().size();

        // ENDPOINTS: always encoded, versioned with this generation.
        offsets[ENDPOINTS] = sink.position();
        encodeEndpoints(table.backends());
        lengths[ENDPOINTS] = sink.position() - offsets[ENDPOINTS];
        crcs[ENDPOINTS] = crc(sink.array(), offsets[ENDPOINTS], lengths[ENDPOINTS]);
        versions[ENDPOINTS] = table.generation();
        items[ENDPOINTS] = table.backends().size();

        byte[] b = sink.array();
        int length = sink.position();
        ImageSink.putIntLE(b, MAGIC_OFFSET, MAGIC);
        ImageSink.putShortLE(b, FORMAT_VERSION_OFFSET, FORMAT_VERSION);
        ImageSink.putShortLE(b, SECTION_COUNT_OFFSET, SECTION_COUNT);
        ImageSink.putLongLE(b, GENERATION_OFFSET, table.generation());
        ImageSink.putIntLE(b, IMAGE_LENGTH_OFFSET, length);
        for (int s = 0; s < SECTION_COUNT; s++) {
            int e = sectionEntry(s);
            ImageSink.putLongLE(b, e + SECTION_VERSION_OFFSET, versions[s]);
            ImageSink.putIntLE(b, e + SECTION_OFFSET_OFFSET, offsets[s]);
            ImageSink.putIntLE(b, e + SECTION_LENGTH_OFFSET, lengths[s]);
            ImageSink.putIntLE(b, e + SECTION_CRC_OFFSET, crcs[s]);
            ImageSink.putIntLE(b, e + SECTION_ITEMS_OFFSET, items[s]);
        }
        ImageSink.putIntLE(b, HEADER_CRC_OFFSET, headerCrc(b, 0));
        return length;
    }

    /** The buffer the last {@link #encode} wrote into; valid until the next call. */
    public byte[] buffer() {
        return sink.array();
    }

    /** Encodes and copies the image out. */
    public byte[] encodeToArray(RouteTable table) {
        int n = encode(table);
        return java.util.Arrays.copyOf(sink.array(), n);
    }

    private boolean sameRoutes(RouteTable t) {
        if (t.defaultBackend() != lastDefaultBackend || t.backends().size() != lastBackendNames.length) {
            return false;
        }
        List<Backend> backends = t.backends();
        for (int i = 0; i < lastBackendNames.length; i++) {
            Backend b = backends.get(i);
            if (b.balancer().ordinal() != lastBalancers[i] || b.protocol().ordinal() != lastProtocols[i]
                || !b.name().equals(lastBackendNames[i])) {
                return false;
            }
        }
        return t.hosts() == lastHosts || t.hosts().equals(lastHosts);
    }

    private void rememberRoutes(RouteTable t) {
        lastHosts = t.hosts();
        lastDefaultBackend = t.defaultBackend();
        int n = t.backends().size();
        lastBackendNames = new String[n];
        lastBalancers = new byte[n];
        lastProtocols = new byte[n];
        for (int i = 0; i < n; i++) {
            lastBackendNames[i] = t.backends().get(i).name();
            lastBalancers[i] = (byte) t.backends().get(i).balancer().ordinal();
            lastProtocols[i] = (byte) t.backends().get(i).protocol().ordinal();
        }
    }

    private static void encodeRoutes(RouteTable t, ImageSink out) {
        Map<String, Integer> strings = new HashMap<>(t.hosts().size() * 4 + t.backends().size() * 2);
        java.util.ArrayList<String> order = new java.util.ArrayList<>();
        for (Backend b : t.backends()) {
            intern(strings, order, b.name());
        }
        for (VirtualHost vh : t.hosts()) {
            intern(strings, order, vh.host());
            for (PathRule r : vh.paths()) {
                intern(strings, order, r.path());
                intern(strings, order, r.source());
            }
        }
        out.putVarint(order.size());
        for (String s : order) {
            out.putString(s);
        }
        out.putVarint(t.defaultBackend() + 1);
        out.putVarint(t.backends().size());
        for (Backend b : t.backends()) {
            out.putVarint(strings.get(b.name()));
            out.putByte(b.balancer().ordinal());
            out.putByte(b.protocol().ordinal());
        }
        out.putVarint(t.hosts().size());
        for (VirtualHost vh : t.hosts()) {
            out.putVarint(strings.get(vh.host()));
            out.putVarint(vh.paths().size());
            for (PathRule r : vh.paths()) {
                out.putVarint(strings.get(r.path()));
                out.putByte(r.type().ordinal());
                out.putVarint(r.backend());
                out.putVarint(strings.get(r.source()));
            }
        }
    }

    /** The backends that open TLS upstream, as a flat list of (index, settings): compared to decide on reuse. */
    private static List<Object> upstreamTls(List<Backend> backends) {
        java.util.ArrayList<Object> l = new java.util.ArrayList<>();
        for (int i = 0, n = backends.size(); i < n; i++) {
            UpstreamTls t = backends.get(i).tls();
            if (t != null) {
                l.add(i);
                l.add(t);
            }
        }
        return l;
    }

    private static void encodeTls(List<TlsCertificate> certs, List<Object> upstream, ImageSink out) {
        out.putVarint(certs.size());
        for (TlsCertificate c : certs) {
            out.putString(c.name());
            out.putVarint(c.hosts().size());
            for (String h : c.hosts()) {
                out.putString(h);
            }
            out.putString(c.certificateChainPem());
            out.putString(c.privateKeyPem());
            TlsOptions o = c.options();
            out.putVarint(o.protocols().size());
            for (String p : o.protocols()) {
                out.putString(p);
            }
            out.putString(o.ciphers());
            out.putByte(o.hsts() == null ? 0 : 1);
            if (o.hsts() != null) {
                out.putString(o.hsts());
            }
            out.putByte(o.sslRedirect() == null ? 0 : o.sslRedirect() ? 2 : 1);
            out.putByte(o.clientAuth().ordinal());
            out.putString(o.clientCaPem());
            out.putByte(o.passthrough() ? 1 : 0);
        }
        out.putVarint(upstream.size() / 2);
        for (int i = 0; i < upstream.size(); i += 2) {
            UpstreamTls t = (UpstreamTls) upstream.get(i + 1);
            out.putVarint((Integer) upstream.get(i));
            out.putByte(t.verify() ? 1 : 0);
            out.putString(t.caPem());
            out.putString(t.clientChainPem());
            out.putString(t.clientKeyPem());
            out.putString(t.serverName());
        }
    }

    private static void encodeL4(List<L4Service> services, ImageSink out) {
        out.putVarint(services.size());
        for (L4Service s : services) {
            out.putString(s.name());
            out.putByte(s.protocol().ordinal());
            out.putVarint(s.listenPort());
            out.putVarint(s.affinityTimeoutSeconds());
            out.putByte(s.proxyProtocol() ? FLAG_PROXY_PROTOCOL_V2 : 0);
            out.putVarint(s.maglevTableSize());
            out.putVarint(s.endpoints().size());
            for (Endpoint e : s.endpoints()) {
                out.putString(e.host());
                out.putVarint(e.port());
                out.putVarint(e.weight());
                out.putByte(e.draining() ? FLAG_DRAINING : 0);
            }
        }
    }

    private void encodeEndpoints(List<Backend> backends) {
        // Endpoint hosts are mostly distinct IPs: written inline, no string table to build.
        sink.putVarint(backends.size());
        for (int b = 0, nb = backends.size(); b < nb; b++) {
            List<Endpoint> eps = backends.get(b).endpoints();
            sink.putVarint(eps.size());
            for (int i = 0, n = eps.size(); i < n; i++) {
                Endpoint e = eps.get(i);
                sink.putString(e.host());
                sink.putVarint(e.port());
                sink.putVarint(e.weight());
                sink.putByte(e.draining() ? FLAG_DRAINING : 0);
            }
        }
    }

    private static void intern(Map<String, Integer> strings, List<String> order, String s) {
        if (strings.putIfAbsent(s, order.size()) == null) {
            order.add(s);
        }
    }
}
