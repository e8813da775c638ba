package io.sluice.routetable;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A certificate and its key for TLS termination, and the server names (SNI) it is for: the compiled form of an
 * Ingress {@code spec.tls} entry and the {@code kubernetes.io/tls} Secret it names.
 *
 * <p>The key material travels to the data plane in the shared-memory route file, which is created with mode 0600 for
 * that reason. {@link #toString()} never prints it.
 *
 * @param name                  where it came from, e.g. {@code default/shop-tls} (namespace/secret); unique in a table
 * @param hosts                 lower-case exact or {@code *.} wildcard names it serves; empty: the default certificate
 *                              for connections whose server name matches no other entry
 * @param certificateChainPem   the {@code tls.crt} of the Secret: leaf first, then intermediates, PEM
 * @param privateKeyPem         the {@code tls.key} of the Secret, PEM
 * @param options               settings for these hosts (protocols, ciphers, HSTS, redirect, client certificates,
 *                              passthrough); the four-argument constructor means {@link TlsOptions#INHERIT}
 */
public record TlsCertificate(String name, List<String> hosts, String certificateChainPem, String privateKeyPem,
                             TlsOptions options) {
    public TlsCertificate {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(certificateChainPem, "certificateChainPem");
        Objects.requireNonNull(privateKeyPem, "privateKeyPem");
        Objects.requireNonNull(options, "options");
        List<String> lower = new ArrayList<>(hosts.size());
        for (String h : hosts) {
            String l = h.toLowerCase(Locale.ROOT);
            if (l.isEmpty()) {
                throw new IllegalArgumentException("TLS certificate " + name + ": empty host");
            }
            VirtualHost.validateHost(l);
            lower.add(l);
        }
        hosts = List.copyOf(lower);
    }

    public TlsCertificate(String name, List<String> hosts, String certificateChainPem, String privateKeyPem) {
        this(name, hosts, certificateChainPem, privateKeyPem, TlsOptions.INHERIT);
    }

    @Override
    public String toString() {
        return "TlsCertificate[name=" + name + ", hosts=" + hosts + ", chain=" + certificateChainPem.length()
            + " chars, key=<redacted>, options=" + options + "]";
    }
}
