package io.sluice.dataplane.steering;

/**
 * Steering counters of one shard, plain fields written only by the shard's thread (readers elsewhere accept stale
 * values, as for {@code ShardStats}). Updated once per accepted connection and once per upstream connect, never per
 * request.
 */
public final class SteeringStats {
    /** Accepted connections whose packets were received on this shard's CPU ({@code SO_INCOMING_CPU}). */
    public long acceptedOnReceivingCpu;
    /** Accepted connections whose packets were received on another CPU: each costs cross-core traffic. */
    public long acceptedOffReceivingCpu;
    /** Accepted connections for which the kernel did not report a CPU. */
    public long acceptedCpuUnknown;
    /** Connections that reached this shard from the acceptor thread (acceptor mode). */
    public long handedOff;
    /** Upstream connections made from a local port whose replies land on one of this shard's queues. */
    public long rssConnects;
    /** Candidate local ports skipped: bound by someone else (EADDRINUSE) or 4-tuple taken (EADDRNOTAVAIL). */
    public long rssPortsBusy;
    /** Upstream connections left to an ephemeral port: no candidate left, attempts used up, or no source address. */
    public long rssFallbacks;

    /** Counts one accepted connection received on {@code incomingCpu} (-1: unknown) and served on {@code shardCpu}. */
    public void countAccepted(int incomingCpu, int shardCpu) {
        if (incomingCpu < 0) {
            acceptedCpuUnknown++;
        } else if (incomingCpu == shardCpu) {
            acceptedOnReceivingCpu++;
        } else {
            acceptedOffReceivingCpu++;
        }
    }

    /** {@code on / (on + off)}, or NaN before any connection with a known CPU. */
    public static double share(long on, long off) {
        return on + off == 0 ? Double.NaN : (double) on / (on + off);
    }
}
