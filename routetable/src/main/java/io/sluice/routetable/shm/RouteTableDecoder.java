package io.sluice.routetable.shm;

import static io.sluice.routetable.shm.RouteTableImage.*;

import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.UpstreamTls;
import io.sluice.routetable.VirtualHost;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes {@link RouteTableImage images} into {@link RouteTable}s, verifying the header CRC and the CRC of every
 * section it decodes. It keeps what it decoded of the last ROUTES and TLS sections: a section with the same version,
 * length and CRC is not decoded again, and the new table shares those objects (notably the {@code hosts} list
 * instance) with the previous one. Single-threaded.
 */
public final class RouteTableDecoder {
    private static final Balancer[] BALANCERS = Balancer.values();
    private static final BackendProtocol[] PROTOCOLS = BackendProtocol.values();
    private static final TlsOptions.ClientAuth[] CLIENT_AUTH = TlsOptions.ClientAuth.values();
    private static final PathType[] PATH_TYPES = PathType.values();

    private long routesVersion = Long.MIN_VALUE;
    private int routesLength = -1;
    private int routesCrc;
    private List<VirtualHost> hosts;
    private String[] backendNames;
    private Balancer[] balancers;
    private BackendProtocol[] protocols;
    private Map<Integer, UpstreamTls> upstreamTls;
    private int defaultBackend;

    private long tlsVersion = Long.MIN_VALUE;
    private int tlsLength = -1;
    private int tlsCrc;
    private List<TlsCertificate> tls;

    private long l4Version = Long.MIN_VALUE;
    private int l4Length = -1;
    private int l4Crc;
    private List<L4Service> l4;

    private boolean lastReusedRoutes;

    /** Whether the last successful {@link #decode} reused the previously decoded ROUTES section. */
    public boolean lastReusedRoutes() {
        return lastReusedRoutes;
    }

    /** Forgets the cached sections. */
    public void reset() {
        routesLength = -1;
        tlsLength = -1;
        l4Length = -1;
        hosts = null;
        tls = null;
        l4 = null;
    }

    /** The generation in an image's header, after checking magic, version and header CRC. */
    public static long verifyHeader(byte[] image, int off, int len) throws CorruptRouteTableException {
        if (len < HEADER_LENGTH) {
            throw new CorruptRouteTableException("image of " + len + " bytes is shorter than its header");
        }
        int magic = getIntLE(image, off + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptRouteTableException("bad magic 0x" + Integer.toHexString(magic));
        }
        int expected = getIntLE(image, off + HEADER_CRC_OFFSET);
        int actual = headerCrc(image, off);
        if (expected != actual) {
            throw new CorruptRouteTableException("header checksum mismatch: stored 0x" + Integer.toHexString(expected)
                + ", computed 0x" + Integer.toHexString(actual));
        }
        int version = getShortLE(image, off + FORMAT_VERSION_OFFSET);
        if (version != FORMAT_VERSION) {
            throw new CorruptRouteTableException("unsupported image format version " + version);
        }
        if (getShortLE(image, off + SECTION_COUNT_OFFSET) != SECTION_COUNT) {
            throw new CorruptRouteTableException("unexpected section count");
        }
        int imageLength = getIntLE(image, off + IMAGE_LENGTH_OFFSET);
        if (imageLength != len) {
            throw new CorruptRouteTableException("image length " + imageLength + " but " + len + " bytes given");
        }
        for (int s = 0; s < SECTION_COUNT; s++) {
            int e = off + sectionEntry(s);
            long so = getIntLE(image, e + SECTION_OFFSET_OFFSET) & 0xffffffffL;
            long sl = getIntLE(image, e + SECTION_LENGTH_OFFSET) & 0xffffffffL;
            if (so < HEADER_LENGTH || so + sl > len) {
                throw new CorruptRouteTableException("section " + s + " [" + so + ", +" + sl + ") outside the image");
            }
        }
        return getLongLE(image, off + GENERATION_OFFSET);
    }

    /** Decodes {@code image[off, off + len)}. On failure the cached sections are left as they were. */
    public RouteTable decode(byte[] image, int off, int len) throws CorruptRouteTableException {
        long generation = verifyHeader(image, off, len);

        int re = off + sectionEntry(ROUTES);
        long rVersion = getLongLE(image, re + SECTION_VERSION_OFFSET);
        int rOffset = off + getIntLE(image, re + SECTION_OFFSET_OFFSET);
        int rLength = getIntLE(image, re + SECTION_LENGTH_OFFSET);
        int rCrc = getIntLE(image, re + SECTION_CRC_OFFSET);
        boolean reuseRoutes = hosts != null && rVersion == routesVersion && rLength == routesLength
            && rCrc == routesCrc;

        int te = off + sectionEntry(TLS);
        long tVersion = getLongLE(image, te + SECTION_VERSION_OFFSET);
        int tOffset = off + getIntLE(image, te + SECTION_OFFSET_OFFSET);
        int tLength = getIntLE(image, te + SECTION_LENGTH_OFFSET);
        int tCrc = getIntLE(image, te + SECTION_CRC_OFFSET);
        boolean reuseTls = tls != null && tVersion == tlsVersion && tLength == tlsLength && tCrc == tlsCrc;

        int le = off + sectionEntry(L4);
        long lVersion = getLongLE(image, le + SECTION_VERSION_OFFSET);
        int lOffset = off + getIntLE(image, le + SECTION_OFFSET_OFFSET);
        int lLength = getIntLE(image, le + SECTION_LENGTH_OFFSET);
        int lCrc = getIntLE(image, le + SECTION_CRC_OFFSET);
        boolean reuseL4 = l4 != null && lVersion == l4Version && lLength == l4Length && lCrc == l4Crc;

        int ee = off + sectionEntry(ENDPOINTS);
        int eOffset = off + getIntLE(image, ee + SECTION_OFFSET_OFFSET);
        int eLength = getIntLE(image, ee + SECTION_LENGTH_OFFSET);
        int eCrc = getIntLE(image, ee + SECTION_CRC_OFFSET);

        // Decode into locals; commit to the cache only when the whole table is good.
        List<VirtualHost> newHosts = hosts;
        String[] newNames = backendNames;
        Balancer[] newBalancers = balancers;
        BackendProtocol[] newProtocols = protocols;
        int newDefault = defaultBackend;
        if (!reuseRoutes) {
            checkCrc("ROUTES", image, rOffset, rLength, rCrc);
            ImageSource in = new ImageSource(image, rOffset, rLength, "ROUTES");
            String[] strings = readStrings(in);
            newDefault = in.getVarint() - 1;
            int nb = in.getCount(2);
            newNames = new String[nb];
            newBalancers = new Balancer[nb];
            newProtocols = new BackendProtocol[nb];
            for (int i = 0; i < nb; i++) {
                newNames[i] = ref(in, strings);
                int bal = in.getByte();
                if (bal >= BALANCERS.length) {
                    throw in.corrupt("unknown balancer " + bal);
                }
                newBalancers[i] = BALANCERS[bal];
                int proto = in.getByte();
                if (proto >= PROTOCOLS.length) {
                    throw in.corrupt("unknown backend protocol " + proto);
                }
                newProtocols[i] = PROTOCOLS[proto];
            }
            int nh = in.getCount(2);
            VirtualHost[] vhs = new VirtualHost[nh];
            for (int h = 0; h < nh; h++) {
                String host = ref(in, strings);
                int np = in.getCount(4);
                PathRule[] rules = new PathRule[np];
                for (int p = 0; p < np; p++) {
                    String path = ref(in, strings);
                    int type = in.getByte();
                    if (type >= PATH_TYPES.length) {
                        throw in.corrupt("unknown path type " + type);
                    }
                    int backend = in.getVarint();
                    String source = ref(in, strings);
                    try {
                        rules[p] = new PathRule(path, PATH_TYPES[type], backend, source);
                    } catch (IllegalArgumentException e) {
                        throw new CorruptRouteTableException("ROUTES section: " + e.getMessage(), e);
                    }
                }
                try {
                    vhs[h] = new VirtualHost(host, Arrays.asList(rules));
                } catch (IllegalArgumentException e) {
                    throw new CorruptRouteTableException("ROUTES section: " + e.getMessage(), e);
                }
            }
            if (!in.atEnd()) {
                throw in.corrupt(in.remaining() + " trailing bytes");
            }
            newHosts = List.of(vhs);
        }

        List<TlsCertificate> newTls = tls;
        Map<Integer, UpstreamTls> newUpstreamTls = upstreamTls;
        if (!reuseTls) {
            checkCrc("TLS", image, tOffset, tLength, tCrc);
            ImageSource in = new ImageSource(image, tOffset, tLength, "TLS");
            int nc = in.getCount(4);
            TlsCertificate[] certs = new TlsCertificate[nc];
            for (int i = 0; i < nc; i++) {
                String name = in.getString();
                int nh = in.getCount(1);
                String[] certHosts = new String[nh];
                for (int h = 0; h < nh; h++) {
                    certHosts[h] = in.getString();
                }
                String chain = in.getString();
                String key = in.getString();
                int np = in.getCount(1);
                String[] protocols = new String[np];
                for (int p = 0; p < np; p++) {
                    protocols[p] = in.getString();
                }
                String ciphers = in.getString();
                String hsts = in.getByte() == 0 ? null : in.getString();
                int redirect = in.getByte();
                int auth = in.getByte();
                if (auth >= CLIENT_AUTH.length || redirect > 2) {
                    throw in.corrupt("bad TLS options of " + name);
                }
                String ca = in.getString();
                boolean passthrough = in.getByte() != 0;
                try {
                    TlsOptions options = new TlsOptions(Arrays.asList(protocols), ciphers, hsts,
                        redirect == 0 ? null : redirect == 2, CLIENT_AUTH[auth], ca, passthrough);
                    certs[i] = new TlsCertificate(name, Arrays.asList(certHosts), chain, key, options);
                } catch (IllegalArgumentException e) {
                    throw new CorruptRouteTableException("TLS section: " + e.getMessage(), e);
                }
            }
            int nu = in.getCount(2);
            newUpstreamTls = new HashMap<>(nu * 2);
            for (int i = 0; i < nu; i++) {
                int backend = in.getVarint();
                boolean verify = in.getByte() != 0;
                try {
                    newUpstreamTls.put(backend, new UpstreamTls(verify, in.getString(), in.getString(), in.getString(),
                        in.getString()));
                } catch (IllegalArgumentException e) {
                    throw new CorruptRouteTableException("TLS section: backend #" + backend + ": " + e.getMessage(), e);
                }
            }
            if (!in.atEnd()) {
                throw in.corrupt(in.remaining() + " trailing bytes");
            }
            newTls = List.of(certs);
        }

        List<L4Service> newL4 = reuseL4 ? l4 : decodeL4(image, lOffset, lLength, lCrc);

        checkCrc("ENDPOINTS", image, eOffset, eLength, eCrc);
        ImageSource in = new ImageSource(image, eOffset, eLength, "ENDPOINTS");
        int nb = in.getCount(1);
        if (nb != newNames.length) {
            throw in.corrupt(nb + " backends but ROUTES has " + newNames.length);
        }
        Backend[] backends = new Backend[nb];
        for (int b = 0; b < nb; b++) {
            int ne = in.getCount(5);
            Endpoint[] eps = new Endpoint[ne];
            for (int i = 0; i < ne; i++) {
                String host = in.getString();
                int port = in.getVarint();
                int weight = in.getVarint();
                int flags = in.getByte();
                try {
                    eps[i] = new Endpoint(host, port, weight, (flags & FLAG_DRAINING) != 0);
                } catch (IllegalArgumentException e) {
                    throw new CorruptRouteTableException("ENDPOINTS section: " + e.getMessage(), e);
                }
            }
            backends[b] = new Backend(newNames[b], newBalancers[b], Arrays.asList(eps), newProtocols[b],
                newUpstreamTls.get(b));
        }
        if (!in.atEnd()) {
            throw in.corrupt(in.remaining() + " trailing bytes");
        }

        RouteTable table;
        try {
            table = new RouteTable(generation, newHosts, Arrays.asList(backends), newDefault, newTls, newL4);
        } catch (IllegalArgumentException e) {
            throw new CorruptRouteTableException("inconsistent table: " + e.getMessage(), e);
        }
        if (!reuseRoutes) {
            routesVersion = rVersion;
            routesLength = rLength;
            routesCrc = rCrc;
            hosts = table.hosts();
            backendNames = newNames;
            balancers = newBalancers;
            protocols = newProtocols;
            defaultBackend = newDefault;
        }
        if (!reuseTls) {
            tlsVersion = tVersion;
            tlsLength = tLength;
            tlsCrc = tCrc;
            upstreamTls = newUpstreamTls;
            tls = table.tls();
        }
        if (!reuseL4) {
            l4Version = lVersion;
            l4Length = lLength;
            l4Crc = lCrc;
            l4 = table.l4();
        }
        lastReusedRoutes = reuseRoutes;
        return table;
    }

    private static final L4Service.Protocol[] L4_PROTOCOLS = L4Service.Protocol.values();

    private static List<L4Service> decodeL4(byte[] image, int off, int len, int crc)
            throws CorruptRouteTableException {
        checkCrc("L4", image, off, len, crc);
        ImageSource in = new ImageSource(image, off, len, "L4");
        int n = in.getCount(7);
        L4Service[] services = new L4Service[n];
        for (int i = 0; i < n; i++) {
            String name = in.getString();
            int proto = in.getByte();
            if (proto >= L4_PROTOCOLS.length) {
                throw in.corrupt("unknown protocol " + proto);
            }
            int port = in.getVarint();
            int affinity = in.getVarint();
            int flags = in.getByte();
            int tableSize = in.getVarint();
            int ne = in.getCount(5);
            Endpoint[] eps = new Endpoint[ne];
            try {
                for (int j = 0; j < ne; j++) {
                    String host = in.getString();
                    int ePort = in.getVarint();
                    int weight = in.getVarint();
                    int eFlags = in.getByte();
                    eps[j] = new Endpoint(host, ePort, weight, (eFlags & FLAG_DRAINING) != 0);
                }
                services[i] = new L4Service(name, L4_PROTOCOLS[proto], port, Arrays.asList(eps), affinity,
                    (flags & FLAG_PROXY_PROTOCOL_V2) != 0, tableSize);
            } catch (IllegalArgumentException e) {
                throw new CorruptRouteTableException("L4 section: " + e.getMessage(), e);
            }
        }
        if (!in.atEnd()) {
            throw in.corrupt(in.remaining() + " trailing bytes");
        }
        return List.of(services);
    }

    private static void checkCrc(String section, byte[] b, int off, int len, int expected)
            throws CorruptRouteTableException {
        int actual = crc(b, off, len);
        if (actual != expected) {
            throw new CorruptRouteTableException(section + " section checksum mismatch: stored 0x"
                + Integer.toHexString(expected) + ", computed 0x" + Integer.toHexString(actual));
        }
    }

    private static String[] readStrings(ImageSource in) throws CorruptRouteTableException {
        int n = in.getCount(1);
        String[] strings = new String[n];
        for (int i = 0; i < n; i++) {
            strings[i] = in.getString();
        }
        return strings;
    }

    private static String ref(ImageSource in, String[] strings) throws CorruptRouteTableException {
        int i = in.getVarint();
        if (i >= strings.length) {
            throw in.corrupt("string reference " + i + " of " + strings.length);
        }
        return strings[i];
    }

}
