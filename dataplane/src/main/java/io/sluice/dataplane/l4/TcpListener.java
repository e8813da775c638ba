package io.sluice.dataplane.l4;

import io.netty.channel.Channel;

import java.net.InetSocketAddress;

/** One shard's TCP listening socket for one L4 service port, and the service's current spec and affinity. */
final class TcpListener {
    final String listenKey;
    L4ServiceSpec spec;
    Channel channel;
    final Affinity affinity = new Affinity();

    TcpListener(L4ServiceSpec spec) {
        this.listenKey = spec.listenKey;
        this.spec = spec;
    }

    /** The endpoint for a new connection from {@code client}: its affinity entry, else Maglev. */
    L4Endpoint choose(InetSocketAddress client, long now) {
        L4ServiceSpec s = spec;
        if (s.affinityMs > 0) {
            L4Endpoint e = affinity.lookup(client.getAddress(), s, now);
            if (e != null) {
                return e;
            }
            return s.pick(FlowHash.clientIp(client.getAddress(), s.port));
        }
        return s.pick(FlowHash.flow(client, s.port, false));
    }

    void remember(InetSocketAddress client, L4Endpoint e, long now) {
        if (spec.affinityMs > 0) {
            affinity.remember(client.getAddress(), e, now, spec.affinityMs);
        }
    }
}
