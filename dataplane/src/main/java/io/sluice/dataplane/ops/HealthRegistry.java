package io.sluice.dataplane.ops;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One {@link EndpointHealth} per endpoint address (its {@code host:port} key) for the whole node. Shards look an entry up
 * when they create the pool of an endpoint (at table install, never per request) and keep the reference.
 */
public final class HealthRegistry {
    private final ConcurrentHashMap<String, EndpointHealth> byKey = new ConcurrentHashMap<>();

    public EndpointHealth get(String key) {
        return byKey.computeIfAbsent(key, EndpointHealth::new);
    }

    public Map<String, EndpointHealth> all() {
        return byKey;
    }
}
