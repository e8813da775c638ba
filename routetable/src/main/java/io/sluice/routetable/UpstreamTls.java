package io.sluice.routetable;

import java.util.Objects;

/**
 * How the data plane opens TLS to a backend that speaks HTTPS (or gRPC over TLS): ingress-nginx's
 * {@code proxy-ssl-*} annotations.
 *
 * @param verify          verify the endpoint's certificate against {@code caPem} (and its name against
 *                        {@code serverName} when set)
 * @param caPem           trusted CA bundle, PEM; empty: none (then {@code verify} must be false)
 * @param clientChainPem  a client certificate chain for mutual TLS to the pods, PEM; empty: none
 * @param clientKeyPem    its private key, PEM; empty when there is no client certificate
 * @param serverName      SNI (and verified name) sent to the endpoints; empty: none
 */
public record UpstreamTls(boolean verify, String caPem, String clientChainPem, String clientKeyPem,
                          String serverName) {
    /** TLS without verification or client certificate (ingress-nginx's default for HTTPS backends). */
    public static final UpstreamTls PLAIN = new UpstreamTls(false, "", "", "", "");

    public UpstreamTls {
        Objects.requireNonNull(caPem, "caPem");
        Objects.requireNonNull(clientChainPem, "clientChainPem");
        Objects.requireNonNull(clientKeyPem, "clientKeyPem");
        Objects.requireNonNull(serverName, "serverName");
        if (verify && caPem.isEmpty()) {
            throw new IllegalArgumentException("verifying upstream certificates needs a CA bundle");
        }
        if (clientChainPem.isEmpty() != clientKeyPem.isEmpty()) {
            throw new IllegalArgumentException("a client certificate needs both its chain and its key");
        }
    }

    @Override
    public String toString() {
        return "UpstreamTls[verify=" + verify + ", ca=" + caPem.length() + " chars, clientCert="
            + !clientChainPem.isEmpty() + ", key=<redacted>, serverName=" + serverName + "]";
    }
}
