package io.sluice.routetable;

import java.util.List;
import java.util.Objects;

/**
 * A named set of endpoints and the way to balance over them (a Kubernetes Service port, or an nginx upstream).
 *
 * @param name      unique within a table, e.g. {@code default/web:http}
 * @param balancer  endpoint choice
 * @param endpoints may be empty: requests routed here get 503
 * @param protocol  how the data plane speaks to the endpoints; the three-argument constructor means HTTP/1.1
 * @param tls       how to open TLS to the endpoints when {@link BackendProtocol#tls() the protocol uses TLS}; null
 *                  otherwise ({@link UpstreamTls#PLAIN} is assumed when the protocol needs TLS and this is null)
 */
public record Backend(String name, Balancer balancer, List<Endpoint> endpoints, BackendProtocol protocol,
                      UpstreamTls tls) {
    public Backend {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(balancer, "balancer");
        Objects.requireNonNull(protocol, "protocol");
        endpoints = List.copyOf(endpoints);
        if (tls == null && protocol.tls()) {
            tls = UpstreamTls.PLAIN;
        }
        if (!protocol.tls()) {
            tls = null;
        }
    }

    public Backend(String name, Balancer balancer, List<Endpoint> endpoints, BackendProtocol protocol) {
        this(name, balancer, endpoints, protocol, null);
    }

    /** A backend spoken to in HTTP/1.1 over cleartext. */
    public Backend(String name, Balancer balancer, List<Endpoint> endpoints) {
        this(name, balancer, endpoints, BackendProtocol.HTTP);
    }
}
