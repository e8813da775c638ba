package io.sluice.dataplane.l4;

import io.sluice.routetable.Endpoint;

import java.net.InetSocketAddress;

/** One endpoint of an L4 service, its address resolved once when the table is compiled. Immutable. */
public final class L4Endpoint {
    /** {@code host:port}: the identity of an endpoint across tables (draining and affinity compare keys). */
    public final String key;
    public final InetSocketAddress address;
    public final boolean draining;
    public final int weight;

    L4Endpoint(Endpoint e) {
        key = e.toString();
        address = new InetSocketAddress(e.host(), e.port());
        draining = e.draining();
        weight = e.weight();
    }

    @Override
    public String toString() {
        return key + (draining ? " (draining)" : "");
    }
}
