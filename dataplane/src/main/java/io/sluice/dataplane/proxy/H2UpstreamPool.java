package io.sluice.dataplane.proxy;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.sluice.dataplane.http.HttpStatus;

import java.util.ArrayDeque;
import java.util.ArrayList;

/**
 * A shard's HTTP/2 connections to one endpoint (it hangs off that endpoint's {@link UpstreamPool}, so it shares its
 * lifetime: kept while a route table uses the endpoint, retired with GOAWAY when none does). Streams multiplex onto
 * the first connection with room under the backend's SETTINGS_MAX_CONCURRENT_STREAMS; when every connection is full
 * a new one opens (up to {@code maxConnectionsPerEndpoint}); beyond that requests wait in a bounded queue
 * ({@code maxPendingPerEndpoint}) and then get 503 / UNAVAILABLE. Shard thread only.
 */
final class H2UpstreamPool {
    private final Shard shard;
    private final UpstreamPool endpoint;
    private final ArrayList<H2ClientConnection> conns = new ArrayList<>();
    private final ArrayDeque<H2StreamUser> waiting = new ArrayDeque<>();
    /** Connections opened but not yet ready (their SETTINGS not yet received). */
    private int opening;
    private boolean retired;

    H2UpstreamPool(Shard shard, UpstreamPool endpoint) {
        this.shard = shard;
        this.endpoint = endpoint;
    }

    void acquire(H2StreamUser ex) {
        ArrayList<H2ClientConnection> cs = conns;
        for (int i = 0; i < cs.size(); i++) {
            H2ClientConnection c = cs.get(i);
            if (c.capacity() > 0) {
                c.start(ex);
                return;
            }
        }
        if (retired) {
            ex.upstreamReset(0, HttpStatus.SERVICE_UNAVAILABLE);
            return;
        }
        if (waiting.size() >= endpoint.maxPending) {
            ex.upstreamReset(0, HttpStatus.SERVICE_UNAVAILABLE);
            return;
        }
        waiting.addLast(ex);
        ex.waitingIn(this);
        // One new connection per DEFAULT_UPSTREAM_STREAMS waiting requests beyond those the opening ones will take.
        if (waiting.size() > opening * H2Limits.DEFAULT_UPSTREAM_STREAMS && cs.size() < endpoint.maxConnections) {
            open();
        }
    }

    /**
     * Opens a connection on the shard's loop. For h2 over TLS (backend protocol H2 / GRPCS) {@code Shard.connect}
     * puts the endpoint's client {@code SslHandler} (ALPN h2) in front of the HTTP/2 handler, which sends its preface
     * once the handshake is done.
     */
    private void open() {
        H2ClientConnection c = H2ClientConnection.create(shard, this);
        conns.add(c);
        opening++;
        ChannelFuture f = shard.connect(c, endpoint.address);
        f.addListener(c);
    }

    void cancel(H2StreamUser ex) {
        waiting.remove(ex);
    }

    void connectionReady(H2ClientConnection c) {
        opening--;
        drain(c);
    }

    void capacityFreed(H2ClientConnection c) {
        if (!waiting.isEmpty()) {
            drain(c);
        }
    }

    private void drain(H2ClientConnection c) {
        H2StreamUser ex;
        while (c.capacity() > 0 && (ex = waiting.pollFirst()) != null) {
            c.start(ex);
        }
        shard.h2.flushDirty();
    }

    void connectFailed(H2ClientConnection c, Throwable cause) {
        if (conns.remove(c)) {
            opening--;
        }
        if (opening > 0) {
            return; // another connection is on its way and will take the waiting requests
        }
        int status = cause instanceof ConnectTimeoutException ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.BAD_GATEWAY;
        H2StreamUser ex;
        while ((ex = waiting.pollFirst()) != null) {
            ex.upstreamReset(0, status);
        }
        shard.h2.flushDirty();
    }

    void draining(H2ClientConnection c) {
        conns.remove(c);
        if (!waiting.isEmpty() && !retired && conns.size() < endpoint.maxConnections) {
            open();
        }
    }

    void closed(H2ClientConnection c) {
        if (conns.remove(c) && !c.ready) {
            opening--;
            if (opening == 0 && !waiting.isEmpty()) {
                H2StreamUser ex;
                while ((ex = waiting.pollFirst()) != null) {
                    ex.upstreamReset(0, HttpStatus.BAD_GATEWAY);
                }
                shard.h2.flushDirty();
            }
        }
    }

    /** No route table uses the endpoint any more: GOAWAY on each connection; streams in flight finish. */
    void retire() {
        retired = true;
        for (int i = conns.size() - 1; i >= 0; i--) {
            conns.get(i).retire();
        }
        conns.clear();
    }

    UpstreamPool endpoint() {
        return endpoint;
    }

    int connections() {
        return conns.size();
    }
}
