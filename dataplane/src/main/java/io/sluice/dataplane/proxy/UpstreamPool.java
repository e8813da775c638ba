package io.sluice.dataplane.proxy;

import io.sluice.dataplane.ops.EndpointHealth;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * Keep-alive connections of one shard to one endpoint address. Shard-confined: no lock. Idle connections are reused
 * last-in first-out (the warmest first); when the connection limit is reached, requests wait in a bounded queue and
 * take the next connection released.
 */
public final class UpstreamPool {
    final String key;
    final InetSocketAddress address;
    final int maxConnections;
    final int maxIdle;
    final int maxPending;
    final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    final ArrayDeque<UpstreamOwner> waiters = new ArrayDeque<>();
    /** Connections open or opening, idle ones included. */
    int open;
    /** Set when no route table references this endpoint any more: connections close instead of returning. */
    boolean retired;
    /** The shard's install stamp of the last table that uses this pool (see Shard.install). */
    long usedBy;
    /** Active health of this address, shared by all shards (read-only here). */
    final EndpointHealth health;

    // Passive outlier detection (OutlierDetector), shard-confined.
    int consecutive5xx;
    int consecutiveConnectFailures;
    /** Shard milliseconds until which this endpoint gets no new requests; 0: not ejected. */
    long ejectedUntilMs;
    /** Ejections so far: each one lasts longer (base * 2^n, capped). */
    int ejections;

    // Counters for the metrics collector: written by the shard only, read racily.
    public long requests;
    public long connectErrors;
    public long responses5xx;
    public long ejectionsTotal;
    /** Wall-clock time of the last ejection (0: never), for the metric; one clock read per ejection. */
    public long lastEjectionEpochMillis;

    /** This endpoint's HTTP/2 connections, made when the first HTTP/2 backend request for it comes (issue 5). */
    private H2UpstreamPool h2;

    H2UpstreamPool h2Pool(Shard shard) {
        if (h2 == null) {
            h2 = new H2UpstreamPool(shard, this);
        }
        return h2;
    }

    /** TLS to the endpoint: the backend's client context and the server name to send; null for cleartext. */
    io.netty.handler.ssl.SslContext tls;
    String tlsServerName;

    UpstreamPool(String key, InetSocketAddress address, int maxConnections, int maxIdle, int maxPending) {
        this(key, address, maxConnections, maxIdle, maxPending, new EndpointHealth(key));
    }

    UpstreamPool(String key, InetSocketAddress address, int maxConnections, int maxIdle, int maxPending,
                 EndpointHealth health) {
        this.health = health;
        this.key = key;
        this.address = address;
        this.maxConnections = maxConnections;
        this.maxIdle = maxIdle;
        this.maxPending = maxPending;
    }

    /** Takes new requests: healthy by the active checks and not ejected by outlier detection. */
    boolean available(long nowMs) {
        return ejectedUntilMs <= nowMs && health.healthy();
    }

    public String key() {
        return key;
    }

    public int openConnections() {
        return open;
    }

    public boolean ejected(long nowMs) {
        return ejectedUntilMs > nowMs;
    }

    public boolean healthy() {
        return health.healthy();
    }

    UpstreamConnection pollIdle() {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            if (c.channel.isActive()) {
                return c;
            }
        }
        return null;
    }

    boolean canOpen() {
        return open < maxConnections;
    }

    /** A connection finished an exchange cleanly: hand it to a waiter, keep it idle, or close it. */
    void release(UpstreamConnection c) {
        UpstreamOwner w;
        while ((w = waiters.pollFirst()) != null) {
            if (w.takeWaitingConnection(c)) {
                return;
            }
        }
        if (retired || idle.size() >= maxIdle || !c.channel.isActive()) {
            c.channel.close();
            return;
        }
        idle.addFirst(c);
    }

    /** A connection closed, whatever its state. */
    void closed(UpstreamConnection c) {
        open--;
        idle.remove(c);
    }

    void retire() {
        retired = true;
        if (h2 != null) {
            h2.retire();
        }
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.channel.close();
        }
    }
}
