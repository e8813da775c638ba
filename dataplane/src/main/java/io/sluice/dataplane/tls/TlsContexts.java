package io.sluice.dataplane.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslCredential;
import io.netty.handler.ssl.OpenSslCredentialBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.sluice.dataplane.config.TlsSettings;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.VirtualHost;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TLS side of one route table: which BoringSSL context serves which server name, built once per change off the
 * shards (on the thread that compiles the table) and then only read by every shard.
 *
 * <p>Certificates come from the table (Ingress Secrets) first, then from the config's files. A host gets one context
 * holding every certificate that covers it, at most one per key type: with an ECDSA and an RSA certificate BoringSSL
 * picks, per handshake, the one the client's signature algorithms allow ({@link OpenSslCredential}s). Hosts covered by
 * the same certificates with the same options share a context; a context whose inputs did not change is carried over
 * from the previous table, so a table update does not cost a re-parse of every key.
 *
 * <p>A certificate that cannot be used (bad PEM, key not matching, expired) is reported in {@link #problems()} and
 * left out; its hosts then get the default certificate. Nothing else is affected.
 */
public final class TlsContexts {
    private static volatile SelfSignedCertificate generated;
    private static final String[] TLS13_SUITES = {
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};

    /** What a server name resolves to. */
    public static final class HostTls {
        public final String name;
        public final SslContext context;
        public final TlsOptions options;
        /** True: forward the connection to the backend of the host's {@code /} rule without terminating. */
        public final boolean passthrough;
        /** A DER OCSP response to staple, or null. */
        public final byte[] ocsp;

        HostTls(String name, SslContext context, TlsOptions options, boolean passthrough, byte[] ocsp) {
            this.name = name;
            this.context = context;
            this.options = options;
            this.passthrough = passthrough;
            this.ocsp = ocsp;
        }
    }

    /** What a host's HTTP responses need from TLS: computed per table host, read per request by index. */
    public static final class HostPolicy {
        /** {@code Strict-Transport-Security: ...\r\n}, or null. */
        public final byte[] hstsLine;
        /** Plain-HTTP requests get 308 to https. */
        public final boolean redirect;

        HostPolicy(byte[] hstsLine, boolean redirect) {
            this.hstsLine = hstsLine;
            this.redirect = redirect;
        }
    }

    private final Map<String, HostTls> exact = new HashMap<>();
    /** Keyed by the part after {@code *.}. */
    private final Map<String, HostTls> wildcard = new HashMap<>();
    private final HostTls defaultHost;
    private final boolean rejectUnknown;
    private final TlsSettings settings;
    private final Map<List<TlsCertificate>, SslContext> byEntries = new HashMap<>();
    private final List<String> problems = new ArrayList<>();
    final List<TlsCertificate> tableEntries;

    private TlsContexts(List<TlsCertificate> tableEntries, TlsSettings settings, TlsContexts previous,
                        TicketKeys keys, boolean http2) {
        this.tableEntries = tableEntries;
        this.settings = settings;
        this.rejectUnknown = "reject".equals(settings.unknownSni());
        Map<List<TlsCertificate>, SslContext> reuse = previous == null ? Map.of() : previous.byEntries;

        List<TlsCertificate> all = new ArrayList<>(tableEntries);
        all.addAll(settings.certificates());
        // Parse once; drop what does not work.
        Map<TlsCertificate, Parsed> parsed = new LinkedHashMap<>();
        for (TlsCertificate c : all) {
            if (c.options().passthrough()) {
                continue;
            }
            try {
                parsed.put(c, Parsed.of(c));
            } catch (GeneralSecurityException | RuntimeException e) {
                problems.add("certificate " + c.name() + ": " + e.getMessage() + "; its hosts get the default");
            }
        }
        // Host -> entries covering it, first of each key type (table entries come first).
        Map<String, List<TlsCertificate>> byHost = new LinkedHashMap<>();
        List<TlsCertificate> defaults = new ArrayList<>();
        java.util.Set<String> tableHosts = new java.util.HashSet<>();
        for (TlsCertificate c : tableEntries) {
            tableHosts.addAll(c.hosts());
        }
        for (int ci = 0; ci < all.size(); ci++) {
            TlsCertificate c = all.get(ci);
            boolean fromFile = ci >= tableEntries.size();
            if (c.options().passthrough()) {
                for (String h : c.hosts()) {
                    HostTls p = new HostTls(c.name(), null, c.options(), true, null);
                    (h.startsWith("*.") ? wildcard : exact).putIfAbsent(key(h), p);
                }
                continue;
            }
            Parsed p = parsed.get(c);
            if (p == null) {
                continue;
            }
            if (c.hosts().isEmpty() && !(fromFile && tableHasDefault(tableEntries))) {
                addOfType(defaults, c, parsed);
            }
            for (String h : c.hosts()) {
                if (fromFile && tableHosts.contains(h)) {
                    continue; // the route table's certificates for a host replace the config file's
                }
                addOfType(byHost.computeIfAbsent(h, k -> new ArrayList<>()), c, parsed);
            }
        }
        for (Map.Entry<String, List<TlsCertificate>> e : byHost.entrySet()) {
            String h = e.getKey();
            Map<String, HostTls> target = h.startsWith("*.") ? wildcard : exact;
            if (target.containsKey(key(h))) {
                continue; // a passthrough entry claimed it
            }
            HostTls t = host(e.getValue(), parsed, reuse, keys, http2);
            if (t != null) {
                target.put(key(h), t);
            }
        }
        HostTls d = defaults.isEmpty() ? null : host(defaults, parsed, reuse, keys, http2);
        if (d == null) {
            SelfSignedCertificate g = generatedDefault();
            TlsCertificate fake = new TlsCertificate("generated/default", List.of(), g.certificatePem,
                g.privateKeyPem);
            try {
                parsed.put(fake, Parsed.of(fake));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
            d = host(List.of(fake), parsed, reuse, keys, http2);
        }
        this.defaultHost = d;
        if (keys != null) {
            keys.track(new ArrayList<>(byEntries.values()));
        }
    }

    /**
     * @param previous the contexts of the table this one replaces (contexts with unchanged inputs are reused), or null
     * @param keys     the node's ticket keys, set on every context built
     * @param http2    offer {@code h2} in ALPN (else {@code http/1.1} only)
     */
    public static TlsContexts build(List<TlsCertificate> tableEntries, TlsSettings settings, TlsContexts previous,
                                    TicketKeys keys, boolean http2) {
        return new TlsContexts(tableEntries, settings, previous, keys, http2);
    }

    /** The same certificates as {@code previous}: carry it over. */
    public boolean sameInputs(List<TlsCertificate> entries) {
        return tableEntries.equals(entries);
    }

    private static boolean tableHasDefault(List<TlsCertificate> entries) {
        for (TlsCertificate c : entries) {
            if (c.hosts().isEmpty() && !c.options().passthrough()) {
                return true;
            }
        }
        return false;
    }

    private static String key(String host) {
        return host.startsWith("*.") ? host.substring(2) : host;
    }

    private static void addOfType(List<TlsCertificate> list, TlsCertificate c, Map<TlsCertificate, Parsed> parsed) {
        String type = parsed.get(c).key.getAlgorithm();
        for (TlsCertificate o : list) {
            if (parsed.get(o).key.getAlgorithm().equals(type)) {
                return;
            }
        }
        list.add(c);
    }

    private HostTls host(List<TlsCertificate> entries, Map<TlsCertificate, Parsed> parsed,
                         Map<List<TlsCertificate>, SslContext> reuse, TicketKeys keys, boolean http2) {
        TlsOptions o = entries.get(0).options();
        SslContext ctx = byEntries.get(entries);
        if (ctx == null) {
            ctx = reuse.get(entries);
            if (ctx == null) {
                try {
                    ctx = serverContext(entries, parsed, o, http2);
                    if (keys != null) {
                        keys.apply(ctx);
                    }
                } catch (Exception e) {
                    problems.add("certificate " + entries.get(0).name() + ": cannot build a TLS context: "
                        + e.getMessage());
                    return null;
                }
            }
            byEntries.put(List.copyOf(entries), ctx);
        }
        return new HostTls(entries.get(0).name(), ctx, o, false,
            settings.ocspResponses().get(entries.get(0).name()));
    }

    private SslContext serverContext(List<TlsCertificate> entries, Map<TlsCertificate, Parsed> parsed, TlsOptions o,
                                     boolean http2) throws Exception {
        Parsed first = parsed.get(entries.get(0));
        // Key material through a caching key manager: Netty's plain path re-encodes the key and chain into BoringSSL
        // on every handshake; this converts them once per context.
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("cert", first.key, new char[0], first.chain);
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
            javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SslContextBuilder b = SslContextBuilder.forServer(new io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory(kmf))
            .sslProvider(SslProvider.OPENSSL_REFCNT); // engines without finalize(); contexts released by retire()
        if (entries.size() > 1) {
            if (!OpenSslCredential.isAvailable()) {
                problems.add("certificate " + entries.get(1).name() + ": a second certificate for the same hosts needs"
                    + " BoringSSL credentials, which this build lacks; only " + entries.get(0).name() + " is served");
            } else {
                for (int i = 0; i < entries.size(); i++) {
                    Parsed p = parsed.get(entries.get(i));
                    b.addCredential(OpenSslCredentialBuilder.forX509(p.key, p.chain).build());
                }
            }
        }
        List<String> protocols = o.protocols().isEmpty() ? settings.protocols() : o.protocols();
        String ciphers = o.ciphers().isEmpty() ? settings.ciphers() : o.ciphers();
        // Netty enables TLS 1.3 only when the list names a TLS 1.3 suite; BoringSSL fixes those suites (all three
        // are AEADs), so the configurable part is the TLS 1.2 list.
        List<String> suites = new ArrayList<>(List.of(TLS13_SUITES));
        suites.addAll(List.of(ciphers.split(":")));
        b.protocols(protocols.toArray(new String[0]))
            .ciphers(suites, io.netty.handler.ssl.IdentityCipherSuiteFilter.INSTANCE)
            .sessionCacheSize(settings.sessionCacheSize())
            .sessionTimeout(settings.sessionTimeoutSeconds())
            .option(OpenSslContextOption.GROUPS, settings.groups().toArray(new String[0]))
            .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                http2 ? new String[] {ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1}
                    : new String[] {ApplicationProtocolNames.HTTP_1_1}));
        if (settings.ocspResponses().containsKey(entries.get(0).name())) {
            b.enableOcsp(true);
        }
        if (o.clientAuth() != TlsOptions.ClientAuth.OFF) {
            b.clientAuth(o.clientAuth() == TlsOptions.ClientAuth.ON ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL)
                .trustManager(Pem.certificates(o.clientCaPem()));
        }
        return b.build();
    }

    /** The default certificate generated for this process (once). */
    static SelfSignedCertificate generatedDefault() {
        SelfSignedCertificate g = generated;
        if (g == null) {
            synchronized (TlsContexts.class) {
                g = generated;
                if (g == null) {
                    g = SelfSignedCertificate.generate();
                    generated = g;
                }
            }
        }
        return g;
    }

    /**
     * What serves {@code serverName} (from SNI; null when the client sent none): the exact name, then a wildcard
     * for its first label, then the default certificate, or null when unknown names are rejected.
     */
    public HostTls select(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return defaultHost;
        }
        String n = serverName.toLowerCase(Locale.ROOT);
        HostTls t = exact.get(n);
        if (t == null) {
            int dot = n.indexOf('.');
            if (dot > 0) {
                t = wildcard.get(n.substring(dot + 1));
            }
        }
        if (t != null) {
            return t;
        }
        return rejectUnknown ? null : defaultHost;
    }

    /** Per-host HTTP policy aligned with {@code hosts} (a table's host list): HSTS and redirect for TLS hosts. */
    public HostPolicy[] policies(List<VirtualHost> hosts) {
        HostPolicy[] out = new HostPolicy[hosts.size()];
        for (int i = 0; i < out.length; i++) {
            String h = hosts.get(i).host();
            if (h.isEmpty()) {
                continue;
            }
            HostTls t = h.startsWith("*.") ? wildcard.get(h.substring(2)) : select(h);
            if (t == null || t == defaultHost || t.passthrough) {
                continue;
            }
            String hsts = t.options.hsts() != null ? t.options.hsts() : settings.hsts();
            boolean redirect = t.options.sslRedirect() != null ? t.options.sslRedirect() : settings.sslRedirect();
            byte[] line = hsts.isEmpty() ? null
                : ("Strict-Transport-Security: " + hsts + "\r\n").getBytes(StandardCharsets.US_ASCII);
            out[i] = new HostPolicy(line, redirect);
        }
        return out;
    }

    public HostTls defaultHost() {
        return defaultHost;
    }

    public List<String> problems() {
        return List.copyOf(problems);
    }

    /**
     * Releases this table's contexts that {@code next} does not reuse (engines of open connections hold their own
     * reference, so those connections are unaffected). Call once {@code next} has replaced this on every shard.
     */
    public void retire(TlsContexts next) {
        java.util.Set<SslContext> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        if (next != null) {
            kept.addAll(next.byEntries.values());
        }
        for (SslContext c : byEntries.values()) {
            if (!kept.contains(c)) {
                io.netty.util.ReferenceCountUtil.release(c);
            }
        }
    }

    /** Every context in use, for ticket key rotation. */
    public List<SslContext> contexts() {
        return new ArrayList<>(byEntries.values());
    }

    /** A certificate entry's parsed key and chain, checked to belong together and to be valid now. */
    private record Parsed(PrivateKey key, X509Certificate[] chain) {
        static Parsed of(TlsCertificate c) throws GeneralSecurityException {
            List<X509Certificate> chain = Pem.certificates(c.certificateChainPem());
            PrivateKey key = Pem.privateKey(c.privateKeyPem());
            X509Certificate leaf = chain.get(0);
            try {
                leaf.checkValidity();
            } catch (java.security.cert.CertificateExpiredException e) {
                throw new GeneralSecurityException("the certificate expired on " + leaf.getNotAfter().toInstant());
            } catch (java.security.cert.CertificateNotYetValidException e) {
                throw new GeneralSecurityException("the certificate is not valid before "
                    + leaf.getNotBefore().toInstant());
            }
            if (!leaf.getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
                throw new GeneralSecurityException("the private key (" + key.getAlgorithm()
                    + ") does not belong to the certificate (" + leaf.getPublicKey().getAlgorithm() + ")");
            }
            checkPair(key, leaf);
            return new Parsed(key, chain.toArray(new X509Certificate[0]));
        }

        private static void checkPair(PrivateKey key, X509Certificate leaf) throws GeneralSecurityException {
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            byte[] probe = "sluice key check".getBytes(StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(leaf.getPublicKey());
            s.update(probe);
            if (!s.verify(sig)) {
                throw new GeneralSecurityException("the private key does not match the certificate");
            }
        }
    }
}
