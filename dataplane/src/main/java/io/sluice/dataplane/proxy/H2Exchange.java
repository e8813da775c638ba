package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;
import io.sluice.dataplane.http.HttpStatus;
import io.sluice.dataplane.http.ResponseHead;
import io.sluice.dataplane.route.Route;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One HTTP/2 request stream from a client and its way to a backend: over a stream of a pooled HTTP/2 upstream
 * connection ({@link H2ClientConnection}, h2c; h2 over TLS plugs in there), or translated to HTTP/1.1 on a pooled
 * {@link UpstreamConnection} (it is then that connection's {@link UpstreamOwner}). Shard thread only.
 *
 * <p>Flow control end to end: bytes received on one side are given back to the sender's window (WINDOW_UPDATE) only
 * once the other side can take them (its stream window and socket are writable). A slow reader therefore stops the
 * writer at its window; nothing is buffered beyond the windows of {@link H2Limits}.
 *
 * <p>gRPC: a failure before the response (no route, no endpoint, upstream unreachable, deadline) is answered
 * trailers-only (HTTP 200, {@code grpc-status}), never with an HTTP error page; {@code grpc-timeout} is passed on and
 * enforced here too (DEADLINE_EXCEEDED); a RST_STREAM on either side resets the other.
 */
final class H2Exchange extends H2StreamUser implements UpstreamOwner, H2ShardState.H2Flushable {
    static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    static final AsciiString SSL_CLIENT_VERIFY = AsciiString.cached("ssl-client-verify");
    static final AsciiString SSL_CLIENT_SUBJECT_DN = AsciiString.cached("ssl-client-subject-dn");
    static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
    static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
    static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
    static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
    static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
    static final AsciiString HOST = AsciiString.cached("host");
    static final AsciiString TE = AsciiString.cached("te");
    static final AsciiString XFF = AsciiString.cached("x-forwarded-for");
    static final AsciiString XFPROTO = AsciiString.cached("x-forwarded-proto");
    static final AsciiString XFHOST = AsciiString.cached("x-forwarded-host");
    static final AsciiString XFPORT = AsciiString.cached("x-forwarded-port");
    static final AsciiString VIA = AsciiString.cached("via");
    static final AsciiString VIA_2 = AsciiString.cached("2 sluice");
    static final AsciiString HTTP = AsciiString.cached("http");
    static final AsciiString HTTPS = AsciiString.cached("https");
    static final AsciiString HEAD = AsciiString.cached("HEAD");
    static final AsciiString CONNECT = AsciiString.cached("CONNECT");
    static final AsciiString TEXT_PLAIN = AsciiString.cached("text/plain; charset=utf-8");

    static final int GRPC_DEADLINE_EXCEEDED = 4;
    static final int GRPC_UNIMPLEMENTED = 12;
    static final int GRPC_UNAVAILABLE = 14;
    static final int GRPC_INTERNAL = 13;

    final H2ServerConnection server;
    final Http2Stream stream;
    final Shard shard;
    private boolean grpc;
    private boolean headMethod;
    /** The client ended its side (END_STREAM). */
    boolean requestDone;
    boolean responseStarted;
    /** The response is complete or the stream was reset: nothing more goes to the client. */
    boolean finished;
    /** gRPC deadline in shard milliseconds (0: none). */
    private long deadlineMs;
    /** HTTP/1.1 upstream read deadline (0: none). */
    private long readDeadlineMs;
    private ShardEndpoint endpoint;

    // HTTP/2 upstream.
    private boolean h2Upstream;
    /** Non-null for a gRPC-Web request translated to gRPC. */
    private GrpcWeb grpcWeb;
    /** Strict-Transport-Security for this response (TLS connections of hosts with a policy), or null. */
    private AsciiString hsts;
    private Http2Headers pendingHeaders;
    private H2UpstreamPool waitingIn;

    // HTTP/1.1 upstream.
    private UpstreamConnection up;
    private ByteBuf h1Head;
    private ByteBuf retryHead;
    private boolean retried;
    private boolean h1Chunked;
    private boolean waitingH1;
    private boolean connectingH1;
    private boolean flushMarked;
    /** The HTTP/1.1 upstream channel last written to (flushed at the end of the read batch, see flushNow). */
    private io.netty.channel.Channel h1Channel;

    // Request body that arrived before the upstream stream existed.
    private CompositeByteBuf pendingBody;
    private boolean pendingEnd;
    private Http2Headers pendingTrailers;
    /** Client bytes received but not yet given back to the client's window (the upstream could not take them). */
    private int unconsumedClient;
    /** Upstream bytes received but not yet given back to the backend's window (the client could not take them). */
    private int unconsumedUpstream;

    H2Exchange(H2ServerConnection server, Http2Stream stream) {
        this.server = server;
        this.stream = stream;
        this.shard = server.shard;
    }

    // ---- request ----

    void start(Http2Headers headers, boolean endOfStream) {
        shard.stats.requests++;
        exStart = io.sluice.dataplane.metrics.ShardMetrics.ENABLED ? System.nanoTime() : 0;
        requestDone = endOfStream;
        CharSequence ct = headers.get(CONTENT_TYPE);
        grpc = ct != null && AsciiString.regionMatches(ct, true, 0, APPLICATION_GRPC, 0, APPLICATION_GRPC.length());
        GrpcWeb web = grpc ? GrpcWeb.of(ct) : null;
        CharSequence method = headers.method();
        CharSequence path = headers.path();
        if (method == null || path == null) {
            respondLocal(HttpStatus.BAD_REQUEST, GRPC_INTERNAL, "bad request");
            return;
        }
        if (CONNECT.contentEquals(method)) {
            respondLocal(405, GRPC_UNIMPLEMENTED, "CONNECT is not supported");
            return;
        }
        headMethod = HEAD.contentEquals(method);
        exMethod = methodCode(method);
        // Client certificate headers come from the TLS handshake only: a client's own copies are dropped.
        headers.remove(SSL_CLIENT_VERIFY);
        headers.remove(SSL_CLIENT_SUBJECT_DN);
        if (server.clientVerify != null) {
            headers.set(SSL_CLIENT_VERIFY, server.clientVerify);
            if (server.clientSubjectDn != null) {
                headers.set(SSL_CLIENT_SUBJECT_DN, server.clientSubjectDn);
            }
        }
        CharSequence timeout = headers.get(GRPC_TIMEOUT);
        if (timeout != null) {
            long ms = grpcTimeoutMillis(timeout);
            if (ms >= 0) {
                deadlineMs = shard.nowMs + Math.max(1, ms);
            }
        }
        CharSequence authority = headers.authority();
        if (authority == null) {
            authority = headers.get(HOST);
        }
        Route route = route(authority, path);
        if (route == null) {
            respondLocal(HttpStatus.NOT_FOUND, GRPC_UNIMPLEMENTED, "no route");
            return;
        }
        exSeries = route.id < shard.seriesOfRoute.length ? shard.seriesOfRoute[route.id]
            : io.sluice.dataplane.metrics.RouteSeries.OVERFLOW;
        if (server.secure) {
            hsts = hstsValue(route);
        }
        ShardBackend backend = shard.backends[route.backend];
        ShardEndpoint ep = backend.pick(shard.nowMs); // health and outlier ejection aware, as for HTTP/1.1
        if (ep == null) {
            respondLocal(HttpStatus.SERVICE_UNAVAILABLE, GRPC_UNAVAILABLE, "no endpoint");
            return;
        }
        endpoint = ep;
        ep.active++;
        h2Upstream = backend.h2Upstream;
        if (h2Upstream) {
            if (web != null) {
                grpcWeb = web; // to an HTTP/2 (gRPC) backend: translated; to HTTP/1.1 ones passed as it is
                web.requestHeaders(headers);
            }
            forwardedHeaders(headers, authority);
            pendingHeaders = headers;
            H2UpstreamPool pool = ep.pool.h2Pool(shard);
            pool.acquire(this);
        } else {
            h1Head = H2ToH1.requestHead(server.ctx.alloc(), headers, authority, server, endOfStream, ep);
            h1Chunked = !endOfStream && !headers.contains(CONTENT_LENGTH);
            startH1(ep.pool);
        }
    }

    static final AsciiString STRICT_TRANSPORT_SECURITY = AsciiString.cached("strict-transport-security");

    /** The host's HSTS value (issue 4's policy) for responses over TLS, or null. */
    private AsciiString hstsValue(Route route) {
        io.sluice.dataplane.tls.TlsContexts.HostPolicy[] policies = shard.hostPolicies;
        int hi = route.hostIndex;
        io.sluice.dataplane.tls.TlsContexts.HostPolicy p = hi >= 0 && hi < policies.length ? policies[hi] : null;
        if (p == null || p.hstsLine == null) {
            return null;
        }
        byte[] line = p.hstsLine; // "Strict-Transport-Security: VALUE\r\n"
        int colon = 0;
        while (colon < line.length && line[colon] != ':') {
            colon++;
        }
        int start = colon + 2;
        return start < line.length - 2 ? new AsciiString(line, start, line.length - 2 - start, false) : null;
    }

    /** Copies host and path into the connection's scratch buffer and matches them there, as bytes. */
    private Route route(CharSequence authority, CharSequence path) {
        int hostLen = authority == null ? 0 : authority.length();
        int pathLen = path.length();
        ByteBuf s = server.routeScratch;
        if (s.capacity() < hostLen + pathLen) {
            s = Unpooled.wrappedBuffer(new byte[Math.max(hostLen + pathLen, s.capacity() * 2)]);
            server.routeScratch = s;
        }
        int hostEnd = hostLen;
        for (int i = 0; i < hostLen; i++) {
            s.setByte(i, authority.charAt(i));
        }
        if (hostLen > 0) {
            if (authority.charAt(0) == '[') {
                int close = indexOf(authority, ']');
                hostEnd = close < 0 ? hostLen : close + 1;
            } else {
                int colon = indexOf(authority, ':');
                hostEnd = colon < 0 ? hostLen : colon;
            }
        }
        int pathEnd = hostLen;
        for (int i = 0; i < pathLen; i++) {
            char c = path.charAt(i);
            if (c == '?' || c == '#') {
                break;
            }
            s.setByte(pathEnd++, c);
        }
        return shard.router.match(s, hostLen == 0 ? -1 : 0, hostEnd, hostLen, pathEnd);
    }

    private static int indexOf(CharSequence s, char c) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }

    /** X-Forwarded-* and Via on the headers passed to an HTTP/2 backend (hop-by-hop ones cannot occur in HTTP/2). */
    private void forwardedHeaders(Http2Headers h, CharSequence authority) {
        boolean trust = shard.config.trustForwarded();
        if (!trust) {
            h.set(XFF, server.clientIp);
            h.set(XFPROTO, server.secure ? HTTPS : HTTP);
            if (authority != null) {
                h.set(XFHOST, authority);
            }
            h.set(XFPORT, server.listenerPort);
        } else {
            CharSequence prior = h.get(XFF);
            h.set(XFF, prior == null ? server.clientIp : prior + ", " + server.clientIp);
            if (!h.contains(XFPROTO)) {
                h.set(XFPROTO, server.secure ? HTTPS : HTTP);
            }
            if (!h.contains(XFHOST) && authority != null) {
                h.set(XFHOST, authority);
            }
            if (!h.contains(XFPORT)) {
                h.set(XFPORT, server.listenerPort);
            }
        }
        h.add(VIA, VIA_2);
    }

    /** DATA from the client. @return the bytes to give back to the client's window now */
    int clientData(ByteBuf data, boolean endOfStream) {
        int n = data.readableBytes();
        if (endOfStream) {
            requestDone = true;
        }
        if (finished) {
            return n;
        }
        if (upStream != null) {
            ByteBuf d = data.retain();
            if (grpcWeb != null) {
                d = grpcWeb.requestData(server.ctx.alloc(), d);
            }
            upConn.writeData(upStream, d, endOfStream);
            shard.h2.markDirty(upConn);
            if (upConn.isWritable(upStream)) {
                return n;
            }
        } else if (up != null) {
            writeH1Body(data.retain(), endOfStream);
            shard.h2.markDirty(this);
            if (up.channel.isWritable()) {
                return n;
            }
        } else {
            if (n > 0) {
                if (pendingBody == null) {
                    pendingBody = server.ctx.alloc().compositeDirectBuffer(64);
                }
                ByteBuf d = data.retain();
                if (grpcWeb != null) {
                    d = grpcWeb.requestData(server.ctx.alloc(), d);
                }
                pendingBody.addComponent(true, d);
            }
            pendingEnd = endOfStream;
        }
        unconsumedClient += n;
        return 0;
    }

    void clientTrailers(Http2Headers trailers, boolean endOfStream) {
        requestDone = endOfStream || requestDone;
        if (finished) {
            return;
        }
        if (upStream != null) {
            upConn.writeTrailers(upStream, trailers);
            shard.h2.markDirty(upConn);
        } else if (up != null) {
            writeH1Trailers(trailers);
            shard.h2.markDirty(this);
        } else {
            pendingTrailers = trailers;
            pendingEnd = true;
        }
    }

    /** The upstream can take more: give the client back the window it used. */
    private void consumeClient() {
        int n = unconsumedClient;
        if (n > 0 && !finished) {
            unconsumedClient = 0;
            try {
                server.connection().local().flowController().consumeBytes(stream, n);
            } catch (Http2Exception e) {
                return;
            }
            shard.h2.markDirty(server);
        }
    }

    // ---- HTTP/2 upstream ----

    /** The pool found a stream for this exchange (shard thread). */
    @Override
    void upstreamStarted(H2ClientConnection c, Http2Stream s) {
        waitingIn = null;
        upConn = c;
        upStream = s;
        pendingHeaders = null;
        if (pendingBody != null) {
            CompositeByteBuf b = pendingBody;
            pendingBody = null;
            c.writeData(s, b, pendingEnd && pendingTrailers == null);
        } else if (pendingEnd && pendingTrailers == null && !requestDone) {
            c.writeData(s, Unpooled.EMPTY_BUFFER, true);
        }
        if (pendingTrailers != null) {
            c.writeTrailers(s, pendingTrailers);
            pendingTrailers = null;
        }
        shard.h2.markDirty(c);
        if (c.isWritable(s)) {
            consumeClient();
        }
    }

    @Override
    Http2Headers takeRequestHeaders() {
        return pendingHeaders;
    }

    /** The request headers still wait to be sent: they end the stream when the request had no body. */
    @Override
    boolean headersEndStream() {
        return requestDone && pendingBody == null && pendingTrailers == null;
    }

    @Override
    void waitingIn(H2UpstreamPool pool) {
        waitingIn = pool;
    }

    @Override
    void upstreamHeaders(Http2Headers headers, boolean endOfStream) {
        if (finished) {
            return;
        }
        CharSequence status = headers.status();
        boolean informational = status != null && status.length() == 3 && status.charAt(0) == '1';
        if (grpcWeb != null && responseStarted) {
            // trailers: the gRPC-Web trailer frame ends the body
            ByteBuf frame = grpcWeb.responseData(server.ctx.alloc(),
                GrpcWeb.trailerFrame(server.ctx.alloc(), headers), true);
            server.encoder().writeData(server.ctx, stream.id(), frame, 0, true, server.ctx.newPromise());
            shard.h2.markDirty(server);
            responseComplete();
            return;
        }
        if (!informational) {
            responseStarted = true;
        }
        if (grpcWeb != null) {
            grpcWeb.responseHeaders(headers);
        }
        if (hsts != null && !informational) {
            headers.set(STRICT_TRANSPORT_SECURITY, hsts);
        }
        headers.add(VIA, VIA_2);
        sentStatus(headers);
        server.encoder().writeHeaders(server.ctx, stream.id(), headers, 0, endOfStream, server.ctx.newPromise());
        shard.h2.markDirty(server);
        if (endOfStream) {
            responseComplete();
        }
    }

    /** DATA from the backend. @return the bytes to give back to the backend's window now */
    @Override
    int upstreamData(ByteBuf data, boolean endOfStream) {
        int n = data.readableBytes();
        if (finished) {
            return n;
        }
        ByteBuf d = data.retain();
        if (grpcWeb != null) {
            d = grpcWeb.responseData(server.ctx.alloc(), d, endOfStream);
        }
        server.encoder().writeData(server.ctx, stream.id(), d, 0, endOfStream, server.ctx.newPromise());
        shard.h2.markDirty(server);
        if (endOfStream) {
            responseComplete();
            return n;
        }
        if (server.connection().remote().flowController().isWritable(stream)) {
            return n;
        }
        unconsumedUpstream += n;
        return 0;
    }

    /** The client's window or socket opened (or closed) for this stream. */
    void downstreamWritabilityChanged() {
        if (finished || !server.connection().remote().flowController().isWritable(stream)) {
            return;
        }
        int n = unconsumedUpstream;
        if (n > 0 && upStream != null) {
            unconsumedUpstream = 0;
            upConn.consume(upStream, n);
        }
        if (up != null) {
            up.resumeReads();
        }
    }

    /** The backend's window for this stream opened. */
    @Override
    void upstreamWritable() {
        consumeClient();
    }

    /** The backend reset its stream, or its connection went away, or no stream could be had. */
    @Override
    void upstreamReset(long errorCode, int status) {
        upStream = null;
        upConn = null;
        waitingIn = null;
        if (finished) {
            return;
        }
        if (!responseStarted) {
            fail(status);
        } else {
            resetClient(errorCode);
        }
    }

    // ---- client side events ----

    void clientReset(long errorCode) {
        finished = true;
        cancelUpstream();
    }

    /** The client's stream closed (both ends done, reset, or the connection went). */
    void downstreamClosed() {
        if (!finished) {
            finished = true;
            cancelUpstream();
        }
        release();
        if (io.sluice.dataplane.metrics.ShardMetrics.ENABLED && exStart != 0) {
            // once per stream: the status the client got (499 when it went first), protocol h2 or grpc
            shard.metrics.request(exSeries, grpc ? io.sluice.dataplane.metrics.ShardMetrics.GRPC
                    : io.sluice.dataplane.metrics.ShardMetrics.H2, exMethod, exStatus == 0 ? 499 : exStatus,
                System.nanoTime() - exStart, -1, 0, 0);
            exStart = 0;
        }
    }

    /** Metrics of this stream: start time, route series, method code, status sent (0: none yet). */
    private long exStart;
    private int exSeries = io.sluice.dataplane.metrics.RouteSeries.UNMATCHED;
    private int exMethod;
    private int exStatus;

    private static int methodCode(CharSequence m) {
        return switch (m.length()) {
            case 3 -> m.charAt(0) == 'G' ? io.sluice.dataplane.http.RequestHead.M_GET
                : m.charAt(0) == 'P' ? io.sluice.dataplane.http.RequestHead.M_PUT : 0;
            case 4 -> m.charAt(0) == 'P' ? io.sluice.dataplane.http.RequestHead.M_POST
                : m.charAt(0) == 'H' ? io.sluice.dataplane.http.RequestHead.M_HEAD : 0;
            case 5 -> m.charAt(0) == 'P' ? io.sluice.dataplane.http.RequestHead.M_PATCH : 0;
            case 6 -> m.charAt(0) == 'D' ? io.sluice.dataplane.http.RequestHead.M_DELETE : 0;
            case 7 -> m.charAt(0) == 'O' ? io.sluice.dataplane.http.RequestHead.M_OPTIONS : 0;
            default -> 0;
        };
    }

    /** Notes the HTTP status of response headers sent to the client. */
    private void sentStatus(Http2Headers h) {
        CharSequence st = h.status();
        if (st != null && st.length() == 3 && st.charAt(0) != '1') {
            exStatus = (st.charAt(0) - '0') * 100 + (st.charAt(1) - '0') * 10 + (st.charAt(2) - '0');
        }
    }

    private void cancelUpstream() {
        if (waitingIn != null) {
            waitingIn.cancel(this);
            waitingIn = null;
        }
        if (upStream != null) {
            H2ClientConnection c = upConn;
            Http2Stream s = upStream;
            upStream = null;
            upConn = null;
            if (s.state() != Http2Stream.State.CLOSED) {
                c.cancel(s);
                shard.h2.markDirty(c);
            }
        }
        if (waitingH1) {
            waitingH1 = false;
            endpoint.pool.waiters.remove(this);
        }
        if (up != null) {
            UpstreamConnection u = up;
            up = null;
            u.detach();
            u.channel.close(); // mid-exchange: its state is unknown, so it is not reused
        }
        connectingH1 = false;
    }

    private void release() {
        if (endpoint != null) {
            endpoint.active--;
            endpoint = null;
        }
        if (pendingBody != null) {
            pendingBody.release();
            pendingBody = null;
        }
        if (h1Head != null) {
            h1Head.release();
            h1Head = null;
        }
        releaseRetryHead();
    }

    private void releaseRetryHead() {
        if (retryHead != null) {
            retryHead.release();
            retryHead = null;
        }
    }

    private void responseComplete() {
        finished = true;
        shard.stats.responses++;
        if (!requestDone) {
            // The response is whole while the client still sends: tell it to stop (RFC 9113 §8.1), and the backend.
            cancelUpstream();
            server.resetStream(server.ctx, stream.id(), Http2Error.NO_ERROR.code(), server.ctx.newPromise());
        }
    }

    private void resetClient(long errorCode) {
        finished = true;
        cancelUpstream();
        server.resetStream(server.ctx, stream.id(), errorCode, server.ctx.newPromise());
        shard.h2.markDirty(server);
    }

    /** Every 100 ms from the connection's sweep: gRPC deadline, HTTP/1.1 upstream read timeout. */
    void sweep(long nowMs) {
        if (finished) {
            return;
        }
        if (deadlineMs != 0 && nowMs >= deadlineMs) {
            shard.stats.upstreamTimeouts++;
            if (!responseStarted) {
                cancelUpstream();
                respondLocal(HttpStatus.GATEWAY_TIMEOUT, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
            } else {
                resetClient(Http2Error.CANCEL.code());
            }
            return;
        }
        if (readDeadlineMs != 0 && nowMs >= readDeadlineMs && (up != null || waitingH1)) {
            readDeadlineMs = 0;
            if (!responseStarted) {
                cancelUpstream();
                fail(waitingH1 ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.GATEWAY_TIMEOUT);
            } else {
                resetClient(Http2Error.CANCEL.code());
            }
            return;
        }
    }

    static void goAwayCalm(H2ServerConnection server) {
        server.onError(server.ctx, false,
            Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM, "too many control frames or stalled"));
    }

    // ---- local responses ----

    private void fail(int status) {
        int g = switch (status) {
            case HttpStatus.GATEWAY_TIMEOUT -> GRPC_UNAVAILABLE;
            case HttpStatus.NOT_FOUND -> GRPC_UNIMPLEMENTED;
            default -> GRPC_UNAVAILABLE;
        };
        if (status == HttpStatus.GATEWAY_TIMEOUT || status == HttpStatus.BAD_GATEWAY) {
            shard.stats.upstreamConnectErrors++;
        }
        respondLocal(status, g, status == HttpStatus.GATEWAY_TIMEOUT ? "upstream timed out" : "upstream unavailable");
    }

    /**
     * Answers the stream from the proxy itself. gRPC requests get a trailers-only response (HTTP 200,
     * {@code grpc-status}, {@code grpc-message}), as gRPC clients expect; others a short text body.
     */
    void respondLocal(int status, int grpcStatus, String message) {
        if (finished) {
            return;
        }
        if (responseStarted) {
            resetClient(Http2Error.INTERNAL_ERROR.code());
            return;
        }
        responseStarted = true;
        shard.stats.localResponses++;
        var ctx = server.ctx;
        Http2Headers h = new DefaultHttp2Headers(false);
        ChannelFuture f;
        if (grpc) {
            h.status(HttpResponseStatus.OK.codeAsText());
            h.set(CONTENT_TYPE, APPLICATION_GRPC);
            h.setInt(GRPC_STATUS, grpcStatus);
            h.set(GRPC_MESSAGE, message);
            sentStatus(h);
            f = server.encoder().writeHeaders(ctx, stream.id(), h, 0, true, ctx.newPromise());
        } else {
            byte[] body = (status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + "\n")
                .getBytes(StandardCharsets.US_ASCII);
            h.status(HttpResponseStatus.valueOf(status).codeAsText());
            h.set(CONTENT_TYPE, TEXT_PLAIN);
            h.setInt(CONTENT_LENGTH, body.length);
            boolean noBody = headMethod;
            sentStatus(h);
            server.encoder().writeHeaders(ctx, stream.id(), h, 0, noBody, ctx.newPromise());
            if (!noBody) {
                server.encoder().writeData(ctx, stream.id(), Unpooled.wrappedBuffer(body), 0, true, ctx.newPromise());
            }
        }
        shard.h2.markDirty(server);
        responseComplete();
    }

    /** grpc-timeout: up to 8 digits and a unit (H, M, S, m, u, n); -1 when malformed (then ignored). */
    static long grpcTimeoutMillis(CharSequence v) {
        int n = v.length();
        if (n < 2 || n > 9) {
            return -1;
        }
        long x = 0;
        for (int i = 0; i < n - 1; i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            x = x * 10 + (c - '0');
        }
        return switch (v.charAt(n - 1)) {
            case 'H' -> x * 3_600_000;
            case 'M' -> x * 60_000;
            case 'S' -> x * 1000;
            case 'm' -> x;
            case 'u' -> x / 1000;
            case 'n' -> x / 1_000_000;
            default -> -1;
        };
    }

    // ---- HTTP/1.1 upstream (this exchange is the UpstreamConnection's owner) ----

    private void startH1(UpstreamPool pool) {
        UpstreamConnection c = pool.pollIdle();
        if (c != null) {
            attach(c, true);
            return;
        }
        if (pool.canOpen()) {
            connectH1(pool);
        } else if (pool.waiters.size() < pool.maxPending) {
            waitingH1 = true;
            pool.waiters.addLast(this);
            readDeadlineMs = shard.nowMs + shard.config.timeouts().connectMs();
        } else {
            fail(HttpStatus.SERVICE_UNAVAILABLE);
        }
    }

    private void connectH1(UpstreamPool pool) {
        connectingH1 = true;
        UpstreamConnection c = new UpstreamConnection(shard, pool);
        pool.open++;
        c.opening(this);
        shard.connect(c, pool.address).addListener(c);
    }

    @Override
    public void connected(UpstreamConnection c, Throwable failure) {
        if (!connectingH1 || finished) {
            if (failure == null) {
                c.pool.release(c);
            }
            return;
        }
        connectingH1 = false;
        if (failure != null) {
            fail(failure instanceof io.netty.channel.ConnectTimeoutException
                ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.BAD_GATEWAY);
        } else {
            attach(c, false);
        }
        shard.h2.flushDirty(); // a connect completes outside any read batch: flush here
    }

    @Override
    public boolean takeWaitingConnection(UpstreamConnection c) {
        if (!waitingH1 || finished) {
            return false;
        }
        waitingH1 = false;
        attach(c, true);
        c.channel.flush();
        return true;
    }

    private void attach(UpstreamConnection c, boolean reused) {
        up = c;
        h1Channel = c.channel;
        c.attach(this);
        c.reused = reused;
        ByteBuf head = h1Head;
        h1Head = null;
        if (reused && !retried && requestDone && pendingBody == null) {
            retryHead = head.retainedDuplicate();
        }
        c.channel.write(head);
        readDeadlineMs = shard.nowMs + shard.config.timeouts().readMs();
        if (pendingBody != null) {
            CompositeByteBuf b = pendingBody;
            pendingBody = null;
            writeH1Body(b, pendingEnd && pendingTrailers == null);
        } else if (pendingEnd && pendingTrailers == null && h1Chunked) {
            writeH1Body(Unpooled.EMPTY_BUFFER, true);
        }
        if (pendingTrailers != null) {
            writeH1Trailers(pendingTrailers);
            pendingTrailers = null;
        }
        shard.h2.markDirty(this);
        if (c.channel.isWritable()) {
            consumeClient();
        }
    }

    private void writeH1Body(ByteBuf data, boolean end) {
        if (!h1Chunked) {
            up.channel.write(data);
            return;
        }
        int n = data.readableBytes();
        if (n > 0) {
            ByteBuf size = up.channel.alloc().directBuffer(12);
            size.writeCharSequence(Integer.toHexString(n), StandardCharsets.US_ASCII);
            size.writeShort(0x0d0a);
            up.channel.write(size);
            up.channel.write(data);
            up.channel.write(H2ToH1.CRLF.retainedDuplicate());
        } else {
            data.release();
        }
        if (end) {
            up.channel.write(H2ToH1.LAST_CHUNK.retainedDuplicate());
        }
    }

    private void writeH1Trailers(Http2Headers trailers) {
        if (!h1Chunked) {
            return; // a Content-Length body cannot carry trailers in HTTP/1.1: dropped
        }
        ByteBuf b = up.channel.alloc().directBuffer(256);
        b.writeBytes(H2ToH1.ZERO_CHUNK_LINE);
        for (Map.Entry<CharSequence, CharSequence> e : trailers) {
            H2ToH1.writeAscii(b, e.getKey());
            b.writeShort(0x3a20);
            H2ToH1.writeAscii(b, e.getValue());
            b.writeShort(0x0d0a);
        }
        b.writeShort(0x0d0a);
        up.channel.write(b);
    }

    @Override
    public void upstreamActivity() {
        readDeadlineMs = shard.nowMs + shard.config.timeouts().readMs();
    }

    @Override
    public boolean upgradeRequested() {
        return false;
    }

    @Override
    public boolean headRequest() {
        return headMethod;
    }

    @Override
    public boolean decodesChunks() {
        return true;
    }

    @Override
    public void onResponseHead(ResponseHead r, boolean tunnel) {
        releaseRetryHead();
        responseStarted = true;
        Http2Headers h = H2ToH1.responseHeaders(r);
        if (hsts != null) {
            h.set(STRICT_TRANSPORT_SECURITY, hsts);
        }
        boolean noBody = !r.hasBody(headMethod);
        sentStatus(h);
        if (noBody) {
            // UpstreamConnection completes the exchange right after this head; END_STREAM goes on the headers.
            server.encoder().writeHeaders(server.ctx, stream.id(), h, 0, true, server.ctx.newPromise());
            finishedByHead = true;
        } else {
            server.encoder().writeHeaders(server.ctx, stream.id(), h, 0, false, server.ctx.newPromise());
        }
    }

    private boolean finishedByHead;

    @Override
    public void onInterimResponse(ByteBuf head) {
        head.release(); // 1xx from an HTTP/1.1 backend (100 Continue): not relayed to HTTP/2 clients
    }

    @Override
    public void writeResponseBody(ByteBuf slice) {
        if (finished) {
            slice.release();
            return;
        }
        server.encoder().writeData(server.ctx, stream.id(), slice, 0, false, server.ctx.newPromise());
        if (!server.connection().remote().flowController().isWritable(stream) && up != null) {
            up.pauseReads();
        }
    }

    @Override
    public void onResponseComplete(boolean upstreamReusable) {
        UpstreamConnection c = up;
        up = null;
        readDeadlineMs = 0;
        if (c != null) {
            c.detach();
            if (upstreamReusable && requestDone) {
                c.pool.release(c);
            } else {
                c.channel.close();
            }
        }
        if (finished) {
            return;
        }
        if (!finishedByHead) {
            server.encoder().writeData(server.ctx, stream.id(), Unpooled.EMPTY_BUFFER, 0, true,
                server.ctx.newPromise());
        }
        shard.h2.markDirty(server);
        responseComplete();
    }

    @Override
    public void onUpstreamFailure(int status, boolean mayRetry) {
        UpstreamConnection c = up;
        up = null;
        if (c != null) {
            c.detach();
        }
        if (finished) {
            return;
        }
        if (responseStarted) {
            resetClient(Http2Error.INTERNAL_ERROR.code());
            return;
        }
        if (mayRetry && retryHead != null && !retried && endpoint != null) {
            retried = true;
            shard.stats.retries++;
            h1Head = retryHead;
            retryHead = null;
            connectH1(endpoint.pool);
            return;
        }
        fail(status);
        shard.h2.markDirty(server);
    }

    @Override
    public void tunnelClosed() {
        resetClient(Http2Error.CANCEL.code());
    }

    @Override
    public void flushClient() {
        shard.h2.markDirty(server); // flushed once at the end of the loop turn, with the other responses
    }

    @Override
    public void resumeFromUpstream() {
        consumeClient();
    }

    // H2Flushable: the HTTP/1.1 upstream connection this exchange wrote to during another connection's read batch.
    @Override
    public boolean flushMarked() {
        return flushMarked;
    }

    @Override
    public void flushMarked(boolean marked) {
        flushMarked = marked;
    }

    @Override
    public void flushNow() {
        io.netty.channel.Channel c = h1Channel;
        if (c != null) {
            c.flush();
        }
    }
}
