package io.sluice.dataplane.l4;

/** Plain counters of one shard's L4 traffic, written by the shard's thread only (readers may see stale values). */
public final class L4Stats {
    public long tcpAccepted;
    /** Directions of TCP connections that switched from the copy path to splice. */
    public long tcpSplicedDirections;
    public long tcpConnectRetries;
    public long tcpConnectFailures;
    public long tcpNoEndpoint;
    public long tcpIdleClosed;
    public long tcpDrainClosed;
    public long udpDatagramsIn;
    public long udpDatagramsOut;
    public long udpFlowsCreated;
    public long udpFlowsExpired;
    public long udpFlowsEvicted;
    public long udpNoEndpoint;
    public long bindFailures;
}
