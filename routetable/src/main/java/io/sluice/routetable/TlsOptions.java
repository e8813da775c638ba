package io.sluice.routetable;

import java.util.List;
import java.util.Objects;

/**
 * Per-host TLS settings that travel with a {@link TlsCertificate}: what an Ingress's annotations ask for the hosts of
 * its {@code spec.tls} entry. Every setting can be left to the data plane's defaults (its {@code tls:} section), so
 * that one place sets the policy of a node and Ingresses override it only where they need to.
 *
 * @param protocols      enabled protocol versions ({@code TLSv1.2}, {@code TLSv1.3}); empty: the data plane's default
 * @param ciphers        TLS 1.2 cipher list in OpenSSL syntax; empty: the data plane's default
 * @param hsts           the {@code Strict-Transport-Security} value sent on HTTPS responses of these hosts; null: the
 *                       data plane's default; empty: none
 * @param sslRedirect    answer plain-HTTP requests for these hosts with 308 to https; null: the data plane's default
 * @param clientAuth     client certificate authentication
 * @param clientCaPem    the CA bundle (PEM) client certificates must chain to; empty unless clientAuth is not OFF
 * @param passthrough    do not terminate TLS for these hosts: forward the connection, ClientHello included, to the
 *                       backend of the host's {@code /} rule (the certificate and key of such an entry are empty)
 */
public record TlsOptions(List<String> protocols, String ciphers, String hsts, Boolean sslRedirect,
                         ClientAuth clientAuth, String clientCaPem, boolean passthrough) {
    /** Everything from the data plane's defaults, no client authentication, terminated. */
    public static final TlsOptions INHERIT = new TlsOptions(List.of(), "", null, null, ClientAuth.OFF, "", false);

    /** Client certificate authentication of a host (ingress-nginx's {@code auth-tls-verify-client}). */
    public enum ClientAuth {
        /** No certificate requested. */
        OFF,
        /** Requested and verified when sent; requests without one go through with {@code ssl-client-verify: NONE}. */
        OPTIONAL,
        /** Required: a handshake without a valid certificate fails. */
        ON
    }

    public TlsOptions {
        protocols = List.copyOf(protocols);
        Objects.requireNonNull(ciphers, "ciphers");
        Objects.requireNonNull(clientAuth, "clientAuth");
        Objects.requireNonNull(clientCaPem, "clientCaPem");
        for (String p : protocols) {
            if (!p.equals("TLSv1.2") && !p.equals("TLSv1.3")) {
                throw new IllegalArgumentException("unsupported TLS protocol '" + p + "' (TLSv1.2 or TLSv1.3)");
            }
        }
        if (clientAuth != ClientAuth.OFF && clientCaPem.isEmpty()) {
            throw new IllegalArgumentException("client authentication " + clientAuth + " needs a CA bundle");
        }
        if (hsts != null && (hsts.indexOf('\r') >= 0 || hsts.indexOf('\n') >= 0)) {
            throw new IllegalArgumentException("HSTS value contains a line break");
        }
    }
}
