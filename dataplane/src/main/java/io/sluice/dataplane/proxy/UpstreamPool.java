package io.sluice.dataplane.proxy;

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
        this.key = key;
        this.address = address;
        this.maxConnections = maxConnections;
        this.maxIdle = maxIdle;
        this.maxPending = maxPending;
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
