package io.sluice.dataplane.steering;

import io.netty.channel.Channel;

import java.util.List;

/** What steering needs of a shard (implemented by {@code proxy.Shard}), so this package does not depend on it. */
public interface SteeredShard {
    /** The CPU the shard is pinned to. */
    int cpu();

    /** Its listening sockets, in the order of the config's listeners (empty in acceptor mode). */
    List<Channel> listeners();

    /** Its inbound ring for connections accepted by the {@link Acceptor}. */
    HandoffRing handoff();

    /** Closes its listening sockets. */
    void closeListeners();

    /** Its steering counters. */
    SteeringStats steeringStats();
}
