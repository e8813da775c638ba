package io.sluice.routetable;

import java.util.List;
import java.util.Objects;

/**
 * A named set of endpoints and the way to balance over them (a Kubernetes Service port, or an nginx upstream).
 *
 * @param name      unique within a table, e.g. {@code default/web:http}
 * @param balancer  endpoint choice
 * @param endpoints may be empty: requests routed here get 503
 */
public record Backend(String name, Balancer balancer, List<Endpoint> endpoints) {
    public Backend {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(balancer, "balancer");
        endpoints = List.copyOf(endpoints);
    }
}
