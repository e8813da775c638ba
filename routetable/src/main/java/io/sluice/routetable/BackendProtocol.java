package io.sluice.routetable;

/**
 * How the data plane talks to a backend's endpoints. The names follow ingress-nginx's {@code backend-protocol}
 * annotation where it has one, so its users can keep their values.
 */
public enum BackendProtocol {
    /** HTTP/1.1 over cleartext TCP (the default). */
    HTTP,
    /** HTTP/1.1 over TLS. */
    HTTPS,
    /** HTTP/2 over cleartext TCP, prior knowledge (no Upgrade). */
    H2C,
    /** HTTP/2 over TLS, ALPN {@code h2}. */
    H2,
    /** gRPC: HTTP/2 over cleartext TCP. */
    GRPC,
    /** gRPC over TLS (HTTP/2, ALPN {@code h2}). */
    GRPCS;

    /** Whether connections to the endpoints start with a TLS handshake. */
    public boolean tls() {
        return this == HTTPS || this == H2 || this == GRPCS;
    }

    /** Whether the endpoints speak HTTP/2. */
    public boolean http2() {
        return this != HTTP && this != HTTPS;
    }

    /** Whether requests are gRPC calls (errors are reported as gRPC status, not as HTTP error pages). */
    public boolean grpc() {
        return this == GRPC || this == GRPCS;
    }
}
