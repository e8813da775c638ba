package io.sluice.dataplane.config;

import io.sluice.routetable.TlsCertificate;

import java.util.List;

/**
 * The node's TLS policy: the {@code tls:} section of the data plane's YAML. Ingress annotations override the
 * per-host parts ({@link io.sluice.routetable.TlsOptions}); the rest is per node.
 *
 * @param certificates        certificates read from files at start-up, in addition to the route table's (a route
 *                            table entry for the same host wins); one with no hosts is the default certificate
 * @param protocols           enabled versions (default TLSv1.2 and TLSv1.3)
 * @param ciphers             TLS 1.2 cipher suites, OpenSSL syntax (default: ECDHE with AES-GCM or ChaCha20 only)
 * @param groups              key exchange groups, BoringSSL names (default X25519, P-256, P-384)
 * @param hsts                Strict-Transport-Security value for HTTPS responses of hosts with a certificate; empty:
 *                            none
 * @param sslRedirect         answer plain-HTTP requests for hosts with a certificate with 308 to https
 * @param httpsPort           port the redirect points to (default: the first TLS listener's, 443 when that is 443)
 * @param unknownSni          {@code default}: serve the default certificate to a server name no certificate covers;
 *                            {@code reject}: fail the handshake (unrecognized_name)
 * @param ticketKeyFile       file of 80-byte ticket keys (first encrypts, all decrypt), e.g. a mounted Secret shared by
 *                            every node; null: random keys rotated every {@code ticketRotationSeconds}
 * @param ticketRotationSeconds how often generated ticket keys rotate (the previous key still decrypts)
 * @param sessionCacheSize    server-side session cache entries per certificate context (0: no cache)
 * @param sessionTimeoutSeconds lifetime of sessions and tickets
 * @param handshakeTimeoutMs  a ClientHello and handshake must complete within this
 * @param ocspResponses       DER OCSP responses to staple, by certificate name (config {@code ocspFile}); read at start
 */
public record TlsSettings(
    List<TlsCertificate> certificates,
    List<String> protocols,
    String ciphers,
    List<String> groups,
    String hsts,
    boolean sslRedirect,
    int httpsPort,
    String unknownSni,
    String ticketKeyFile,
    int ticketRotationSeconds,
    int sessionCacheSize,
    int sessionTimeoutSeconds,
    int handshakeTimeoutMs,
    java.util.Map<String, byte[]> ocspResponses) {

    public static final String DEFAULT_CIPHERS = String.join(":",
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305");

    public static final TlsSettings DEFAULT = new TlsSettings(List.of(), List.of("TLSv1.2", "TLSv1.3"),
        DEFAULT_CIPHERS, List.of("X25519", "P-256", "P-384"), "max-age=31536000; includeSubDomains", true, 0,
        "default", null, 3600, 20_480, 600, 10_000, java.util.Map.of());

    public TlsSettings {
        certificates = List.copyOf(certificates);
        protocols = List.copyOf(protocols);
        groups = List.copyOf(groups);
        ocspResponses = ocspResponses == null ? java.util.Map.of() : java.util.Map.copyOf(ocspResponses);
    }

    public TlsSettings withCertificates(List<TlsCertificate> certs) {
        return new TlsSettings(certs, protocols, ciphers, groups, hsts, sslRedirect, httpsPort, unknownSni,
            ticketKeyFile, ticketRotationSeconds, sessionCacheSize, sessionTimeoutSeconds,
            handshakeTimeoutMs, ocspResponses);
    }
}
