package io.sluice.routetable;

import java.util.List;
import java.util.Objects;

/**
 * One L4 (TCP or UDP) load-balanced port: the compiled form of one port of a Kubernetes Service of
 * {@code type: LoadBalancer} with {@code spec.loadBalancerClass: sluice.io/l4}. Every shard listens on
 * {@link #listenPort()} for {@link #protocol()} and forwards each flow to one of {@link #endpoints()}, chosen by Maglev
 * consistent hashing of the flow (or of the client address alone, with ClientIP affinity).
 *
 * @param name                   where it came from, {@code namespace/service:port-name-or-number}; unique in a table
 * @param protocol               TCP or UDP
 * @param listenPort             the port every node accepts on (the Service port)
 * @param endpoints              the ready (and terminating: {@link Endpoint#draining()}) endpoints, target ports
 *                               resolved; draining endpoints get no new flows, existing ones continue
 * @param affinityTimeoutSeconds {@code sessionAffinity: ClientIP} with this timeout; 0 means no affinity
 * @param proxyProtocol          send a PROXY protocol v2 header to the backend before the first byte (TCP only)
 * @param maglevTableSize        size of the Maglev lookup table, a prime larger than the endpoint count; 0 means the
 *                               data plane's default (65537)
 */
public record L4Service(String name, Protocol protocol, int listenPort, List<Endpoint> endpoints,
                        int affinityTimeoutSeconds, boolean proxyProtocol, int maglevTableSize) {

    /** The transport of an L4 service. */
    public enum Protocol {
        TCP, UDP;

        public static Protocol parse(String s) {
            return switch (s.toUpperCase(java.util.Locale.ROOT)) {
                case "TCP" -> TCP;
                case "UDP" -> UDP;
                default -> throw new IllegalArgumentException("protocol '" + s + "' (expected TCP or UDP)");
            };
        }
    }

    public L4Service {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
        endpoints = List.copyOf(endpoints);
        if (listenPort < 1 || listenPort > 65535) {
            throw new IllegalArgumentException("L4 service " + name + ": listen port out of range: " + listenPort);
        }
        if (affinityTimeoutSeconds < 0) {
            throw new IllegalArgumentException("L4 service " + name + ": negative affinity timeout");
        }
        if (maglevTableSize != 0 && (maglevTableSize < 3 || !isPrime(maglevTableSize))) {
            throw new IllegalArgumentException("L4 service " + name + ": Maglev table size " + maglevTableSize
                + " is not a prime >= 3");
        }
        if (proxyProtocol && protocol == Protocol.UDP) {
            throw new IllegalArgumentException("L4 service " + name + ": PROXY protocol is for TCP only");
        }
    }

    /** Without affinity, PROXY protocol or a table size of its own. */
    public L4Service(String name, Protocol protocol, int listenPort, List<Endpoint> endpoints) {
        this(name, protocol, listenPort, endpoints, 0, false, 0);
    }

    /** The listener key of this service: protocol and port (two services may not share one). */
    public String listenKey() {
        return protocol.name().toLowerCase(java.util.Locale.ROOT) + "/" + listenPort;
    }

    public static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        if (n % 2 == 0) {
            return n == 2;
        }
        for (int d = 3; (long) d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
