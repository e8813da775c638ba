package io.sluice.dataplane.config;

/**
 * The data plane's L4 (TCP/UDP) settings, the {@code l4:} section of its config. The L4 services themselves come with
 * the route table (from the agent, or {@code l4.services} in the config file).
 *
 * @param connectTimeoutMs   TCP connect to a backend; on failure or timeout the next backend is tried, before any
 *                           byte of the client was forwarded
 * @param connectAttempts    backends tried per TCP connection at most (each once)
 * @param idleMs             a TCP connection with no data in either direction for this long is closed
 * @param drainTimeoutMs     connections and UDP flows on a removed or draining endpoint (or on a removed port) keep
 *                           going for at most this long after the change
 * @param udpIdleMs          a UDP flow with no datagram in either direction for this long is forgotten
 * @param udpMaxFlows        UDP flows per shard and service at most; a new flow beyond it evicts the least recently
 *                           used one
 * @param splice             forward TCP bytes with splice(2) through a pipe (zero copy); false: pooled buffers
 * @param maglevTableSize    default Maglev lookup table size (a prime), for services that do not set their own
 */
public record L4Settings(int connectTimeoutMs, int connectAttempts, int idleMs, int drainTimeoutMs, int udpIdleMs,
                         int udpMaxFlows, boolean splice, int maglevTableSize) {
    public static final int DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
    public static final L4Settings DEFAULT = new L4Settings(2_000, 3, 600_000, 30_000, 60_000, 65_536, true,
        DEFAULT_MAGLEV_TABLE_SIZE);

    public L4Settings withSplice(boolean on) {
        return new L4Settings(connectTimeoutMs, connectAttempts, idleMs, drainTimeoutMs, udpIdleMs, udpMaxFlows, on,
            maglevTableSize);
    }

    public L4Settings withDrainTimeoutMs(int ms) {
        return new L4Settings(connectTimeoutMs, connectAttempts, idleMs, ms, udpIdleMs, udpMaxFlows, splice,
            maglevTableSize);
    }
}
