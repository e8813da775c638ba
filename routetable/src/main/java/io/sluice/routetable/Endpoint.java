package io.sluice.routetable;

import java.util.Objects;

/**
 * One address of a backend.
 *
 * @param host     IP literal or host name (resolved once when the table is installed, never per request)
 * @param port     TCP port
 * @param weight   relative weight for {@link Balancer#WEIGHTED}, at least 1
 * @param draining true for a terminating endpoint: it gets no new requests, in-flight ones complete
 */
public record Endpoint(String host, int port, int weight, boolean draining) {
    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("endpoint port out of range: " + port);
        }
        if (weight < 1) {
            throw new IllegalArgumentException("endpoint weight must be >= 1: " + weight);
        }
    }

    public Endpoint(String host, int port) {
        this(host, port, 1, false);
    }

    /** Parses {@code host:port} or {@code [v6]:port}. */
    public static Endpoint parse(String hostPort, int weight) {
        String s = hostPort.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("endpoint must be host:port, got '" + hostPort + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("endpoint port is not a number in '" + hostPort + "'");
        }
        return new Endpoint(host, port, weight, false);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
