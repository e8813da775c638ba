package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.DuplexChannel;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.http.HeaderId;
import io.sluice.dataplane.http.HttpStatus;
import io.sluice.dataplane.http.MessageHead;
import io.sluice.dataplane.http.RequestHead;
import io.sluice.dataplane.http.ResponseHead;
import io.sluice.dataplane.http.ChunkedScanner;
import io.sluice.dataplane.metrics.RouteSeries;
import io.sluice.dataplane.metrics.ShardMetrics;
import io.sluice.dataplane.ops.AccessLogRecord;
import io.sluice.dataplane.route.Route;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * One client connection on one shard, and the exchange in progress on it. The only handler in the channel's pipeline:
 * it parses request heads in place ({@link RequestHead} over the received bytes), routes on those bytes, writes a
 * rewritten head to a pooled upstream connection and then streams the body through as retained slices, never
 * buffering it whole. Requests are served one at a time in order; pipelined ones wait in the input buffer.
 *
 * <p>Everything here runs on the shard's event loop thread, as does the {@link UpstreamConnection} paired with it,
 * so no field needs a lock or a barrier. Per-request state lives in fields reset per exchange: steady state allocates
 * only pooled buffers.
 */
final class DownstreamConnection extends ChannelInboundHandlerAdapter implements UpstreamOwner {
    static final int HEAD = 0;
    static final int CONNECTING = 1;
    static final int WAITING = 2;
    static final int BODY = 3;
    static final int AWAIT = 4;
    static final int TUNNEL = 5;
    static final int CLOSING = 6;
    static final int CLOSED = 7;

    private static final byte[] HTTP11_CRLF = ascii(" HTTP/1.1\r\n");
    private static final byte[] CRLF = ascii("\r\n");
    private static final byte[] HOST = ascii("Host: ");
    private static final byte[] CONNECTION_UPGRADE = ascii("Connection: upgrade\r\n");
    private static final byte[] CONNECTION_CLOSE = ascii("Connection: close\r\n");
    private static final byte[] CONNECTION_KEEP_ALIVE = ascii("Connection: keep-alive\r\n");
    private static final byte[] XFF = ascii("X-Forwarded-For: ");
    private static final byte[] XFPROTO_HTTP = ascii("X-Forwarded-Proto: http\r\n");
    private static final byte[] XFPROTO_HTTPS = ascii("X-Forwarded-Proto: https\r\n");
    private static final byte[] CLIENT_VERIFY_SUCCESS = ascii("ssl-client-verify: SUCCESS\r\n");
    private static final byte[] CLIENT_VERIFY_NONE = ascii("ssl-client-verify: NONE\r\n");
    private static final byte[] CLIENT_SUBJECT = ascii("ssl-client-subject-dn: ");
    private static final byte[] XFHOST = ascii("X-Forwarded-Host: ");
    private static final byte[] XFPORT = ascii("X-Forwarded-Port: ");
    private static final byte[] VIA_11_END = ascii("Via: 1.1 sluice\r\n\r\n");
    private static final byte[] VIA_10_END = ascii("Via: 1.0 sluice\r\n\r\n");
    private static final byte[] STATUS_11 = ascii("HTTP/1.1 ");

    /** After a closing response: half-close, so the client reads the whole response before the connection ends. */
    static final ChannelFutureListener SHUTDOWN_OUTPUT = f -> {
        Channel c = f.channel();
        if (c instanceof DuplexChannel d && c.isActive()) {
            d.shutdownOutput();
        } else {
            c.close();
        }
    };

    final Shard shard;
    private final DataPlaneConfig.Limits limits;
    private final byte[] listenerPort;
    private final int port;
    /** A request was taken on this connection: it is HTTP/1, the HTTP/2 preface can no longer come. */
    private boolean sawRequest;
    /** Arrived on a TLS listener: X-Forwarded-Proto https, HSTS, no redirect. */
    private final boolean secure;
    /** What the TLS acceptor chose for this connection's server name; null on cleartext. */
    io.sluice.dataplane.tls.TlsContexts.HostTls tlsHost;
    /** Client certificate headers for upstream (verify status and subject), made once per connection; or null. */
    private byte[] clientCertHeaders;
    /** The same for HTTP/2 streams of this connection (ALPN h2): verify status and subject, or null. */
    private String clientVerify;
    private String clientSubjectDn;
    /** The HSTS/redirect policy of the exchange's host, or null. */
    private io.sluice.dataplane.tls.TlsContexts.HostPolicy policy;
    Channel ch;
    private byte[] clientIp;

    /** Received bytes not yet consumed: a partial head, body bytes, pipelined requests. */
    private ByteBuf cum;
    private int scanOffset;
    private final RequestHead req;
    int state = HEAD;

    // The exchange in progress.
    UpstreamConnection up;
    /** The exchange in progress when its backend speaks HTTP/2 (then {@link #up} stays null). */
    private H1ToH2Exchange h2x;
    /** Flushes this client connection at the end of the loop turn (for responses from HTTP/2 backends). */
    final H2ShardState.H2Flushable flushable = new H2ShardState.H2Flushable() {
        private boolean marked;

        @Override
        public boolean flushMarked() {
            return marked;
        }

        @Override
        public void flushMarked(boolean m) {
            marked = m;
        }

        @Override
        public void flushNow() {
            ch.flush();
        }
    };
    private ShardEndpoint endpoint;
    private UpstreamConnection connecting;
    /** The rewritten head, kept until a response starts when the exchange could be retried on a new connection. */
    private ByteBuf retryHead;
    private boolean retried;
    private long bodyRemaining;
    private boolean chunkedBody;
    private final ChunkedScanner chunks = new ChunkedScanner();
    boolean requestDone;
    private boolean keepAlive;
    boolean headMethod;
    boolean upgrade;
    boolean responseStarted;
    private boolean http10;
    private boolean pausedForPipeline;
    private boolean pausedForUpstream;
    /** A local response was written during this read batch and awaits the batch's flush. */
    private boolean clientFlushPending;

    // Metrics and access log of the exchange in progress (issue 8); plain fields, reset per exchange.
    private boolean exOpen;
    private long exStart;
    private long exUpSent;
    private long exUpNanos;
    private int exSeries;
    private byte exMethod;
    private int exStatus;
    private long exIn;
    private long exOut;
    /** The backend of the exchange (outlier detection, circuit breaking), null before routing. */
    private ShardBackend exBackend;
    /** The backend whose {@code active} count this exchange holds (circuit breaking). */
    private ShardBackend activeBackend;
    private String exUpstream;
    /** Head bytes of a sampled request, copied at its start (the input buffer moves on); per connection, lazily. */
    private AccessLogRecord logScratch;
    private boolean exLogged;

    /** Deadline in shard milliseconds, 0 for none; checked by the shard's sweeper. */
    long deadline;
    DownstreamConnection prevConn;
    DownstreamConnection nextConn;

    DownstreamConnection(Shard shard, int listenerPort) {
        this(shard, listenerPort, false);
    }

    DownstreamConnection(Shard shard, int listenerPort, boolean secure) {
        this.shard = shard;
        this.secure = secure;
        this.limits = shard.config.limits();
        this.listenerPort = ascii(Integer.toString(listenerPort));
        this.port = listenerPort;
        this.req = new RequestHead(limits.maxHeaderCount());
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ch = ctx.channel();
        if (ch.remoteAddress() instanceof InetSocketAddress isa) {
            clientIp = ascii(isa.getAddress().getHostAddress());
        } else {
            clientIp = ascii("unknown");
        }
        shard.register(this);
        deadline = shard.nowMs + shard.config.timeouts().idleMs();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ProxyProtocolDecoder.ProxiedAddress pa) {
            clientIp = ascii(pa.source().getAddress().getHostAddress());
        } else if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent hs) {
            onHandshake(ctx, hs);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** Counts the handshake; with client authentication, prepares the headers that tell upstream about the peer. */
    private void onHandshake(ChannelHandlerContext ctx, io.netty.handler.ssl.SslHandshakeCompletionEvent hs) {
        if (!hs.isSuccess()) {
            shard.stats.tlsHandshakeFailures++;
            shard.metrics.tlsHandshakeFailed();
            return; // the SslHandler closes the connection
        }
        shard.stats.tlsHandshakes++;
        io.netty.handler.ssl.SslHandler ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        if (ssl == null) {
            return;
        }
        javax.net.ssl.SSLEngine engine = ssl.engine();
        boolean resumed = false;
        int version = 0;
        if (engine instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine oe) {
            long p = oe.sslPointer();
            resumed = io.netty.internal.tcnative.SSL.isSessionReused(p);
            version = io.netty.internal.tcnative.SSL.getVersionInt(p);
        }
        if (resumed) {
            shard.stats.tlsResumed++;
        }
        shard.metrics.tlsHandshake(version, resumed);
        if (tlsHost != null && tlsHost.options.clientAuth() != io.sluice.routetable.TlsOptions.ClientAuth.OFF) {
            String dn = null;
            try {
                java.security.cert.Certificate[] peer = engine.getSession().getPeerCertificates();
                if (peer.length > 0 && peer[0] instanceof java.security.cert.X509Certificate x) {
                    dn = x.getSubjectX500Principal().getName(javax.security.auth.x500.X500Principal.RFC2253);
                }
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                dn = null;
            }
            clientVerify = dn == null ? "NONE" : "SUCCESS";
            if (dn == null) {
                clientCertHeaders = CLIENT_VERIFY_NONE;
            } else {
                StringBuilder sb = new StringBuilder(dn.length() + 64);
                sb.append("ssl-client-verify: SUCCESS\r\nssl-client-subject-dn: ");
                for (int i = 0; i < dn.length(); i++) {
                    char c = dn.charAt(i);
                    sb.append(c < 0x20 || c > 0x7e ? '?' : c); // a header value: printable ASCII only
                }
                clientCertHeaders = ascii(sb.append("\r\n").toString());
                clientSubjectDn = sb.substring(sb.indexOf("ssl-client-subject-dn: ") + 23, sb.length() - 2);
            }
        }
        if (io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
            switchToHttp2(); // ALPN chose h2: the HTTP/2 server side takes the connection (issue 5)
        }
    }

    /** TLS passthrough takes the connection over: this handler leaves without closing it. */
    void handOver() {
        shard.unregister(this);
        state = CLOSED;
        deadline = 0;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        switch (state) {
            case TUNNEL -> {
                up.channel.write(in);
                if (!up.channel.isWritable()) {
                    pauseForUpstream();
                }
                return;
            }
            case CLOSING, CLOSED -> {
                in.release();
                return;
            }
            default -> {
            }
        }
        deadline = shard.nowMs + (state == HEAD ? shard.config.timeouts().idleMs() : shard.config.timeouts().readMs());
        append(in);
        process();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (up != null) {
            up.channel.flush();
        }
        if (clientFlushPending) {
            clientFlushPending = false;
            ch.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (up != null && ch.isWritable()) {
            up.resumeReads();
        } else if (h2x != null && ch.isWritable()) {
            h2x.clientWritable();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets and the like from a client: nothing to answer, nothing to log per connection.
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state == CLOSED) {
            return; // handed over (passthrough)
        }
        shard.unregister(this);
        if (exOpen) {
            finishExchange(responseStarted ? exStatus : 499); // 499: the client closed first (as nginx logs it)
        }
        if (state == WAITING && endpoint != null) {
            endpoint.pool.waiters.remove(this);
        }
        state = CLOSED;
        if (up != null) {
            UpstreamConnection u = up;
            up = null;
            u.detach();
            u.channel.close(); // mid-exchange: the upstream connection's state is unknown, so it is not reused
        }
        if (h2x != null) {
            H1ToH2Exchange x = h2x;
            h2x = null;
            x.cancel(); // RST_STREAM(CANCEL) to the HTTP/2 backend
        }
        endExchangeAccounting();
        releaseRetryHead();
        if (cum != null) {
            cum.release();
            cum = null;
        }
    }

    private void append(ByteBuf in) {
        cum = Cumulation.append(ch.alloc(), cum, in);
    }

    private void compact() {
        if (cum != null && !cum.isReadable()) {
            cum.release();
            cum = null;
        }
    }

    /** Consumes buffered input as far as the current state allows. */
    void process() {
        while (cum != null) {
            switch (state) {
                case HEAD -> {
                    if (!readHead()) {
                        compact();
                        return;
                    }
                }
                case BODY -> forwardBody();
                default -> {
                    // An exchange is in progress: what is buffered is the next request. Bound it.
                    if (cum.readableBytes() > limits.maxHeaderBytes() && !pausedForPipeline) {
                        pausedForPipeline = true;
                        ch.config().setAutoRead(false);
                    }
                    return;
                }
            }
            compact();
        }
    }

    /** @return true when a request was taken and the loop should go on with its body or the next one */
    private boolean readHead() {
        if (!sawRequest) {
            int m = Http2Downstream.matchPreface(cum);
            if (m == 0) {
                return false;
            }
            if (m > 0) {
                switchToHttp2();
                return false;
            }
        }
        int ri = cum.readerIndex();
        int wi = cum.writerIndex();
        // RFC 9112 §2.2: ignore empty lines before a request line (some clients send CRLF after a body).
        int skipped = 0;
        while (ri < wi && skipped < 4) {
            byte b = cum.getByte(ri);
            if (b != '\r' && b != '\n') {
                break;
            }
            ri++;
            skipped++;
        }
        cum.readerIndex(ri);
        if (ri == wi) {
            return false;
        }
        int end = MessageHead.findEnd(cum, ri, ri + scanOffset, wi, limits.maxRequestLineBytes(),
            limits.maxHeaderBytes());
        if (end == HttpStatus.NEED_MORE) {
            scanOffset = Math.max(0, wi - ri - 3);
            return false;
        }
        scanOffset = 0;
        if (end < 0) {
            reject(-end);
            return false;
        }
        int st = req.parse(cum, ri, end);
        if (st == HttpStatus.OK && req.requestLineEnd - ri - 2 > limits.maxRequestLineBytes()) {
            st = HttpStatus.URI_TOO_LONG;
        }
        if (st == HttpStatus.OK && req.contentLength > limits.maxBodyBytes()) {
            st = HttpStatus.PAYLOAD_TOO_LARGE;
        }
        if (st != HttpStatus.OK) {
            reject(st);
            return false;
        }
        return startExchange(end);
    }

    /**
     * h2c with prior knowledge (the connection is HTTP/2 from its first byte), or ALPN h2 after TLS: hand the
     * connection to the HTTP/2 server side.
     */
    private void switchToHttp2() {
        ByteBuf in = cum;
        cum = null;
        state = CLOSED;
        deadline = 0;
        shard.unregister(this);
        ChannelPipeline p = ch.pipeline();
        p.remove(this);
        Http2Downstream.install(p, shard, port, secure, clientIp, clientVerify, clientSubjectDn);
        if (in != null) {
            p.fireChannelRead(in);
        }
    }

    /** {@code Upgrade: h2c}: 101, then HTTP/2 with this request as stream 1 (see {@link H2cUpgrade}). */
    private void upgradeToH2c(io.netty.handler.codec.http2.Http2Settings settings, int headEnd) {
        io.netty.handler.codec.http2.Http2Headers headers = H2cUpgrade.headers(req, cum);
        cum.readerIndex(headEnd);
        ByteBuf rest = cum;
        cum = null;
        state = CLOSED;
        deadline = 0;
        shard.unregister(this);
        ch.write(H2cUpgrade.SWITCHING.duplicate());
        ChannelPipeline p = ch.pipeline();
        p.remove(this);
        Http2Downstream.installUpgraded(p, shard, port, settings, headers);
        if (rest.isReadable()) {
            p.fireChannelRead(rest);
        } else {
            rest.release();
        }
    }

    private boolean startExchange(int headEnd) {
        sawRequest = true;
        int h2Settings = secure ? -1 : H2cUpgrade.settingsHeader(req, cum); // h2c: cleartext only
        if (h2Settings >= 0) {
            io.netty.handler.codec.http2.Http2Settings settings = H2cUpgrade.settings(req, cum, h2Settings);
            if (settings != null) {
                upgradeToH2c(settings, headEnd);
                return false;
            }
        }
        shard.stats.requests++;
        openExchange(headEnd - cum.readerIndex());
        keepAlive = req.keepAlive() && !shard.draining;
        http10 = req.version == 10;
        headMethod = req.method == RequestHead.M_HEAD;
        upgrade = req.upgradeHeader >= 0 && req.connectionUpgrade && !http10;
        chunkedBody = req.chunked;
        bodyRemaining = req.chunked ? 0 : Math.max(0, req.contentLength);
        if (chunkedBody) {
            chunks.reset(limits.maxBodyBytes());
        }
        requestDone = !req.hasBody();
        responseStarted = false;
        retried = false;

        Route route = shard.router.match(cum, req.hostStart, req.hostNameEnd(), req.pathStart, req.pathEnd);
        if (exLogged) {
            captureHead();
        }
        if (route == null) {
            cum.readerIndex(headEnd);
            return localReply(HttpStatus.NOT_FOUND);
        }
        exSeries = route.id < shard.seriesOfRoute.length ? shard.seriesOfRoute[route.id] : RouteSeries.OVERFLOW;
        io.sluice.dataplane.tls.TlsContexts.HostPolicy[] policies = shard.hostPolicies;
        int hi = route.hostIndex;
        policy = hi >= 0 && hi < policies.length ? policies[hi] : null;
        if (policy != null && policy.redirect && !secure) {
            return redirectToHttps(headEnd);
        }
        ShardBackend backend = shard.backends[route.backend];
        exBackend = backend;
        if (backend.maxRequests > 0 && backend.active >= backend.maxRequests) {
            cum.readerIndex(headEnd);
            shard.stats.overflowRequests++;
            return overloaded();
        }
        ShardEndpoint ep = backend.pick(shard.nowMs);
        if (ep == null) {
            cum.readerIndex(headEnd);
            return localReply(HttpStatus.SERVICE_UNAVAILABLE);
        }
        if (backend.h2Upstream) {
            startH2Exchange(ep, headEnd); // an HTTP/2 backend (H2C, GRPC): translated, see H1ToH2Exchange
            return true;
        }
        ByteBuf head = upstreamHead(ep);
        cum.readerIndex(headEnd);
        endpoint = ep;
        exUpstream = ep.spec.key;
        ep.active++;
        backend.active++;
        activeBackend = backend;
        UpstreamPool pool = ep.pool;
        pool.requests++;
        UpstreamConnection c = pool.pollIdle();
        if (c != null) {
            exUpSent = exStart; // sent now: save a clock read
            attach(c, head, true);
            return true;
        }
        retryHead = head;
        if (pool.canOpen()) {
            connect(pool);
        } else if (pool.waiters.size() < pool.maxPending) {
            state = WAITING;
            pool.waiters.addLast(this);
            deadline = shard.nowMs + shard.config.timeouts().connectMs();
        } else {
            endExchangeAccounting();
            releaseRetryHead();
            shard.stats.overflowPending++;
            return overloaded();
        }
        return true;
    }

    /** Starts the metrics (and, if sampled, the access-log record) of a request whose head has {@code headBytes}. */
    private void openExchange(int headBytes) {
        exOpen = true;
        exLogged = shard.accessLog != null && shard.accessLog.sample();
        exStart = ShardMetrics.ENABLED || exLogged ? System.nanoTime() : 0;
        exUpNanos = -1;
        exStatus = 0;
        exIn = headBytes;
        exOut = 0;
        exSeries = RouteSeries.UNMATCHED;
        exMethod = req.method;
        exBackend = null;
        exUpstream = null;
    }

    /** Copies the request's method, target and host into the access-log scratch (bounded). */
    private void captureHead() {
        AccessLogRecord r = logScratch;
        if (r == null) {
            r = logScratch = new AccessLogRecord();
            r.client = clientIp;
        }
        RequestHead h = req;
        r.methodLen = Math.min(h.methodEnd - h.start, AccessLogRecord.MAX_METHOD);
        cum.getBytes(h.start, r.method, 0, r.methodLen);
        int tl = h.targetEnd - h.targetStart;
        r.targetTruncated = tl > AccessLogRecord.MAX_TARGET;
        r.targetLen = Math.min(tl, AccessLogRecord.MAX_TARGET);
        cum.getBytes(h.targetStart, r.target, 0, r.targetLen);
        if (h.hostStart >= 0) {
            r.hostLen = Math.min(h.hostEnd - h.hostStart, AccessLogRecord.MAX_HOST);
            cum.getBytes(h.hostStart, r.host, 0, r.hostLen);
        } else {
            r.hostLen = 0;
        }
        r.version = h.version;
    }

    /** The exchange is over with {@code status} sent (or cut): count it, and log it if sampled. Once per exchange. */
    private void finishExchange(int status) {
        if (!exOpen) {
            return;
        }
        exOpen = false;
        if (!ShardMetrics.ENABLED && !exLogged) {
            return;
        }
        long total = System.nanoTime() - exStart;
        if (ShardMetrics.ENABLED) {
            shard.metrics.request(exSeries, ShardMetrics.H1, exMethod, status, total, exUpNanos, exIn, exOut);
        }
        if (exLogged) {
            exLogged = false;
            shard.accessLog.publish(logScratch, shard.id, status, exIn, exOut, total, exUpNanos, exUpstream,
                exBackend == null ? null : exBackend.name);
        }
    }

    /** Circuit breaking: the backend's limits are reached; a 503 that says so. */
    private boolean overloaded() {
        finishExchange(HttpStatus.SERVICE_UNAVAILABLE);
        boolean close = !(requestDone && keepAlive);
        sendLocal(LocalResponses.overloaded(close), close);
        return !close;
    }

    /** Draining: a connection between requests, with nothing buffered, closes now. */
    void closeIfIdle() {
        if (state == HEAD && (cum == null || !cum.isReadable())) {
            state = CLOSING;
            ch.close();
        }
    }

    private void startH2Exchange(ShardEndpoint ep, int headEnd) {
        io.netty.handler.codec.http2.Http2Headers hs = H2cUpgrade.headers(req, cum);
        boolean trust = shard.config.trustForwarded();
        if (!trust || !hs.contains(H2Exchange.XFF)) {
            hs.set(H2Exchange.XFF, new io.netty.util.AsciiString(clientIp, false));
        }
        if (!trust || !hs.contains(H2Exchange.XFPROTO)) {
            hs.set(H2Exchange.XFPROTO, secure ? H2Exchange.HTTPS : H2Exchange.HTTP);
        }
        if ((!trust || !hs.contains(H2Exchange.XFHOST)) && hs.authority() != null) {
            hs.set(H2Exchange.XFHOST, hs.authority());
        }
        if (!trust || !hs.contains(H2Exchange.XFPORT)) {
            hs.set(H2Exchange.XFPORT, new io.netty.util.AsciiString(listenerPort, false));
        }
        hs.add(H2Exchange.VIA, http10 ? "1.0 sluice" : "1.1 sluice");
        cum.readerIndex(headEnd);
        endpoint = ep;
        exUpstream = ep.spec.key;
        ep.active++;
        h2x = new H1ToH2Exchange(this, hs, requestDone);
        state = requestDone ? AWAIT : BODY;
        deadline = shard.nowMs + shard.config.timeouts().readMs();
        ep.pool.h2Pool(shard).acquire(h2x);
    }

    /** The HTTP/2 upstream exchange ended: complete (the response went out whole) or failed (then answered here). */
    void h2ExchangeDone(H1ToH2Exchange x, boolean complete) {
        if (h2x != x) {
            return;
        }
        h2x = null;
        if (complete) {
            onResponseComplete(false);
        }
    }

    boolean keepAlive() {
        return keepAlive;
    }

    private void connect(UpstreamPool pool) {
        state = CONNECTING;
        UpstreamConnection c = new UpstreamConnection(shard, pool);
        connecting = c;
        pool.open++;
        c.opening(this);
        ChannelFuture f = shard.connect(c, pool.address);
        f.addListener(c);
    }

    /** The connection this exchange opened is ready, or failed. */
    @Override
    public void connected(UpstreamConnection c, Throwable failure) {
        if (connecting != c || state != CONNECTING) {
            // The exchange went away meanwhile: keep a good connection for the next one.
            if (failure == null) {
                c.pool.release(c);
            }
            return;
        }
        connecting = null;
        if (failure != null) {
            shard.stats.upstreamConnectErrors++;
            shard.outlier.onConnectFailure(exBackend, c.pool, shard.nowMs);
            if (retryElsewhere()) {
                return;
            }
            fail(failure instanceof ConnectTimeoutException ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.BAD_GATEWAY);
            return;
        }
        ByteBuf head = retryHead;
        retryHead = null;
        attach(c, head, false);
        process();
        if (up != null) {
            up.channel.flush();
        }
    }

    /**
     * After a failed connect: sends an idempotent request without a body, once, to another endpoint of its backend,
     * if the shard's retry budget allows. The head was built for the first endpoint; it differs only in a Host line the
     * proxy adds for requests that arrived without one.
     */
    private boolean retryElsewhere() {
        if (retried || !requestDone || upgrade || !req.idempotent() || exBackend == null || retryHead == null
            || endpoint == null || exBackend.endpoints.length < 2) {
            return false;
        }
        ShardEndpoint next = exBackend.pick(shard.nowMs);
        if (next == endpoint) {
            next = exBackend.pick(shard.nowMs);
        }
        if (next == null || next == endpoint || !next.pool.canOpen()) {
            return false;
        }
        if (!shard.retryBudget.tryAcquire(shard.nowMs, shard.stats.requests)) {
            return false;
        }
        retried = true;
        shard.stats.retries++;
        endpoint.active--;
        endpoint = next;
        exUpstream = next.spec.key;
        next.active++;
        next.pool.requests++;
        connect(next.pool);
        return true;
    }

    /** A pool handed over a released connection while this exchange waited for one. */
    @Override
    public boolean takeWaitingConnection(UpstreamConnection c) {
        if (state != WAITING) {
            return false;
        }
        ByteBuf head = retryHead;
        retryHead = null;
        attach(c, head, true);
        process();
        if (up != null) {
            up.channel.flush();
        }
        return true;
    }

    private void attach(UpstreamConnection c, ByteBuf head, boolean reused) {
        up = c;
        c.attach(this);
        boolean retryable = reused && !retried && requestDone && req.idempotent() && !upgrade;
        if (retryable) {
            retryHead = head.retain();
        }
        c.reused = reused;
        if (exUpSent == 0 && (ShardMetrics.ENABLED || exLogged)) {
            exUpSent = System.nanoTime(); // a retry keeps the first attempt's time: upstream time includes it
        }
        c.channel.write(head);
        state = requestDone ? AWAIT : BODY;
        deadline = shard.nowMs + shard.config.timeouts().readMs();
        if (pausedForPipeline && state == BODY) {
            pausedForPipeline = false;
            ch.config().setAutoRead(true);
        }
    }

    private void forwardBody() {
        int ri = cum.readerIndex();
        int wi = cum.writerIndex();
        int n;
        if (!chunkedBody) {
            n = (int) Math.min(bodyRemaining, wi - ri);
            bodyRemaining -= n;
            if (bodyRemaining == 0) {
                requestDone = true;
            }
        } else {
            int e = chunks.scan(cum, ri, wi, h2x != null ? h2x.chunkSink : null);
            if (e < 0) {
                bodyError(e == ChunkedScanner.TOO_LARGE ? HttpStatus.PAYLOAD_TOO_LARGE : HttpStatus.BAD_REQUEST);
                return;
            }
            n = e - ri;
            if (chunks.done()) {
                requestDone = true;
            }
        }
        if (h2x != null) {
            forwardBodyH2(n);
            return;
        }
        if (n > 0) {
            exIn += n;
            up.channel.write(cum.readRetainedSlice(n));
        }
        if (requestDone) {
            state = AWAIT;
        }
        if (!up.channel.isWritable()) {
            pauseForUpstream();
        }
    }

    /** The body of a request to an HTTP/2 backend: as DATA (chunked bodies went out through the scanner's sink). */
    private void forwardBodyH2(int n) {
        H1ToH2Exchange x = h2x;
        if (chunkedBody) {
            cum.skipBytes(n);
        } else if (n > 0) {
            x.requestData(cum.readRetainedSlice(n));
        }
        if (requestDone) {
            state = AWAIT;
            x.requestEnd();
        }
        if (!x.writable()) {
            pauseForUpstream();
        }
    }

    private void pauseForUpstream() {
        if (!pausedForUpstream) {
            pausedForUpstream = true;
            ch.config().setAutoRead(false);
        }
    }

    /** The upstream can take more: read from the client again. */
    @Override
    public void resumeFromUpstream() {
        if (pausedForUpstream) {
            pausedForUpstream = false;
            if (!pausedForPipeline) {
                ch.config().setAutoRead(true);
            }
        }
    }

    private void bodyError(int status) {
        if (cum != null) {
            cum.release();
            cum = null;
        }
        if (!responseStarted) {
            dropUpstream();
            endExchangeAccounting();
            releaseRetryHead();
            reject(status);
        } else {
            ch.close();
        }
    }

    /**
     * Builds the head sent upstream: request line in origin-form with HTTP/1.1, the client's header lines copied in
     * runs minus hop-by-hop ones, then Host (when it came from an absolute-form target or was missing),
     * X-Forwarded-For/-Proto/-Host/-Port and Via.
     */
    /** The request target in origin-form (an absolute-form target loses its scheme and authority). */
    private static void writeOriginForm(RequestHead r, ByteBuf b, ByteBuf out) {
        if (r.authorityStart >= 0) {
            if (r.pathStart == r.targetEnd || b.getByte(r.pathStart) != '/') {
                out.writeByte('/');
            }
            out.writeBytes(b, r.pathStart, r.targetEnd - r.pathStart);
        } else {
            out.writeBytes(b, r.targetStart, r.targetEnd - r.targetStart);
        }
    }

    private ByteBuf upstreamHead(ShardEndpoint ep) {
        RequestHead r = req;
        ByteBuf b = cum;
        ByteBuf out = ch.alloc().directBuffer(r.end - r.start + 192 + clientIp.length);
        out.writeBytes(b, r.start, r.methodEnd + 1 - r.start);
        writeOriginForm(r, b, out);
        out.writeBytes(HTTP11_CRLF);
        boolean trust = shard.config.trustForwarded();
        boolean hadProto = false;
        boolean hadHost = false;
        boolean hadPort = false;
        int run = r.requestLineEnd;
        for (int h = 0; h < r.headerCount; h++) {
            boolean drop;
            switch (r.ids[h]) {
                case HeaderId.CONNECTION, HeaderId.KEEP_ALIVE, HeaderId.PROXY_CONNECTION, HeaderId.TE -> drop = true;
                case HeaderId.UPGRADE -> drop = !upgrade;
                case HeaderId.HOST -> drop = r.authorityStart >= 0;
                case HeaderId.X_FORWARDED_FOR -> drop = !trust;
                case HeaderId.X_FORWARDED_PROTO -> {
                    drop = !trust;
                    hadProto = true;
                }
                case HeaderId.X_FORWARDED_HOST -> {
                    drop = !trust;
                    hadHost = true;
                }
                case HeaderId.X_FORWARDED_PORT -> {
                    drop = !trust;
                    hadPort = true;
                }
                case HeaderId.SSL_CLIENT_VERIFY, HeaderId.SSL_CLIENT_SUBJECT_DN -> drop = true;
                default -> drop = r.connectionTokenCount > 0 && r.namedByConnection(h);
            }
            if (drop) {
                out.writeBytes(b, run, r.lineStart[h] - run);
                run = r.lineEnd[h];
            }
        }
        out.writeBytes(b, run, r.end - 2 - run);
        if (r.authorityStart >= 0) {
            out.writeBytes(HOST).writeBytes(b, r.authorityStart, r.authorityEnd - r.authorityStart).writeBytes(CRLF);
        } else if (r.hostHeader < 0) {
            out.writeBytes(HOST).writeBytes(ep.spec.hostHeaderValue).writeBytes(CRLF);
        }
        if (upgrade) {
            out.writeBytes(CONNECTION_UPGRADE);
        }
        out.writeBytes(XFF).writeBytes(clientIp).writeBytes(CRLF);
        if (!(trust && hadProto)) {
            out.writeBytes(secure ? XFPROTO_HTTPS : XFPROTO_HTTP);
        }
        if (clientCertHeaders != null) {
            out.writeBytes(clientCertHeaders);
        }
        if (!(trust && hadHost) && r.hostStart >= 0) {
            out.writeBytes(XFHOST).writeBytes(b, r.hostStart, r.hostEnd - r.hostStart).writeBytes(CRLF);
        }
        if (!(trust && hadPort)) {
            out.writeBytes(XFPORT).writeBytes(listenerPort).writeBytes(CRLF);
        }
        out.writeBytes(http10 ? VIA_10_END : VIA_11_END);
        return out;
    }

    /** Writes the client's copy of an upstream response head. */
    @Override
    public void onResponseHead(ResponseHead r, boolean tunnel) {
        responseStarted = true;
        releaseRetryHead();
        exStatus = r.status;
        exUpNanos = exUpSent == 0 ? -1 : System.nanoTime() - exUpSent;
        if (endpoint != null) {
            shard.outlier.onStatus(exBackend, endpoint.pool, r.status, shard.nowMs);
        }
        if (shard.draining) {
            keepAlive = false; // SIGTERM: this response ends the connection (Connection: close)
        }
        if (r.hasBody(headMethod) && r.delimitedByClose()) {
            keepAlive = false; // the body ends when the upstream closes: so must this connection
        }
        if (http10 && r.chunked) {
            keepAlive = false; // see ARCHITECTURE.md: chunked responses to HTTP/1.0 clients are not de-chunked
        }
        ByteBuf b = r.buf;
        ByteBuf out = ch.alloc().directBuffer(r.end - r.start + 64);
        out.writeBytes(STATUS_11);
        out.writeBytes(b, r.start + 9, r.statusLineEnd - (r.start + 9));
        int run = r.statusLineEnd;
        for (int h = 0; h < r.headerCount; h++) {
            byte id = r.ids[h];
            boolean drop = (HeaderId.isHopByHop(id) && !(tunnel && id == HeaderId.UPGRADE))
                || (r.connectionTokenCount > 0 && r.namedByConnection(h));
            if (drop) {
                out.writeBytes(b, run, r.lineStart[h] - run);
                run = r.lineEnd[h];
            }
        }
        out.writeBytes(b, run, r.end - 2 - run);
        if (secure && policy != null && policy.hstsLine != null) {
            out.writeBytes(policy.hstsLine);
        }
        if (tunnel) {
            out.writeBytes(CONNECTION_UPGRADE);
        } else if (!keepAlive || !requestDone) {
            // Not keeping the connection (or the request body is still arriving, so we cannot know yet).
            if (!keepAlive) {
                out.writeBytes(CONNECTION_CLOSE);
            }
        } else if (http10) {
            out.writeBytes(CONNECTION_KEEP_ALIVE);
        }
        out.writeBytes(VIA_11_END);
        exOut += out.readableBytes();
        ch.write(out);
        if (tunnel) {
            finishExchange(101);
            startTunnel();
        }
    }

    /** 1xx other than 101: passed on as received. */
    @Override
    public void onInterimResponse(ByteBuf head) {
        ch.write(head);
        ch.flush();
    }

    @Override
    public void writeResponseBody(ByteBuf slice) {
        exOut += slice.readableBytes();
        ch.write(slice);
        if (!ch.isWritable() && up != null) {
            up.pauseReads();
        }
    }

    @Override
    public void upstreamActivity() {
        deadline = shard.nowMs + shard.config.timeouts().readMs();
    }

    @Override
    public boolean upgradeRequested() {
        return upgrade;
    }

    @Override
    public boolean headRequest() {
        return headMethod;
    }

    @Override
    public boolean decodesChunks() {
        return false;
    }

    @Override
    public void tunnelClosed() {
        ch.flush();
        ch.close();
    }

    @Override
    public void flushClient() {
        ch.flush();
    }

    private void startTunnel() {
        state = TUNNEL;
        deadline = 0;
        if (cum != null && cum.isReadable()) {
            up.channel.write(cum.retain());
            up.channel.flush();
        }
        if (cum != null) {
            cum.release();
            cum = null;
        }
    }

    /** The upstream finished its response. */
    @Override
    public void onResponseComplete(boolean upstreamReusable) {
        UpstreamConnection c = up;
        up = null;
        endExchangeAccounting();
        finishExchange(exStatus);
        if (shard.draining) {
            keepAlive = false;
        }
        if (c != null) {
            c.detach();
            if (upstreamReusable && requestDone) {
                c.pool.release(c);
            } else {
                c.channel.close();
            }
        }
        shard.stats.responses++;
        if (!keepAlive || !requestDone || state == CLOSING || state == CLOSED) {
            closeAfterFlush();
            return;
        }
        state = HEAD;
        deadline = shard.nowMs + shard.config.timeouts().idleMs();
        ch.flush();
        resumeFromUpstream();
        if (pausedForPipeline) {
            pausedForPipeline = false;
            ch.config().setAutoRead(true);
        }
        if (cum != null) {
            process();
            if (up != null) {
                up.channel.flush();
            }
        }
    }

    /** The upstream connection failed before or during the response. */
    @Override
    public void onUpstreamFailure(int status, boolean mayRetry) {
        UpstreamConnection c = up;
        up = null;
        if (c != null) {
            c.detach();
        }
        if (responseStarted) {
            endExchangeAccounting();
            finishExchange(exStatus);
            ch.close(); // a response cut in the middle cannot be repaired in HTTP/1.1: end it the same way
            return;
        }
        if (mayRetry && retryHead != null && !retried && endpoint != null) {
            // A pooled connection that the upstream had closed: send again once, on a new connection.
            retried = true;
            shard.stats.retries++;
            connect(endpoint.pool);
            return;
        }
        fail(status);
    }

    /** Answers the exchange with an error of the proxy's own. */
    private void fail(int status) {
        if (endpoint != null && (status == HttpStatus.BAD_GATEWAY || status == HttpStatus.GATEWAY_TIMEOUT)) {
            shard.outlier.onStatus(exBackend, endpoint.pool, status, shard.nowMs);
        }
        endExchangeAccounting();
        releaseRetryHead();
        finishExchange(status);
        if (status == HttpStatus.GATEWAY_TIMEOUT) {
            shard.stats.upstreamTimeouts++;
        }
        boolean close = !requestDone || !keepAlive;
        sendLocal(status, close);
        if (!close) {
            state = HEAD;
            deadline = shard.nowMs + shard.config.timeouts().idleMs();
            ch.flush();
            if (pausedForPipeline) {
                pausedForPipeline = false;
                ch.config().setAutoRead(true);
            }
            if (cum != null) {
                process();
            }
        }
    }

    /** Timer fired (the shard's sweeper calls this). */
    void onTimeout() {
        deadline = 0;
        switch (state) {
            case HEAD -> {
                if (cum != null && cum.isReadable()) {
                    sendLocal(408, true);
                } else {
                    ch.close();
                }
            }
            case WAITING -> {
                endpoint.pool.waiters.remove(this);
                fail(HttpStatus.SERVICE_UNAVAILABLE);
            }
            case BODY, AWAIT -> {
                if (responseStarted) {
                    dropUpstream();
                    endExchangeAccounting();
                    finishExchange(exStatus);
                    ch.close();
                } else {
                    dropUpstream();
                    fail(HttpStatus.GATEWAY_TIMEOUT);
                }
            }
            case CONNECTING -> deadline = shard.nowMs + shard.config.timeouts().connectMs(); // Netty times connects
            default -> ch.close();
        }
    }

    private void dropUpstream() {
        if (h2x != null) {
            H1ToH2Exchange x = h2x;
            h2x = null;
            x.cancel();
        }
        if (up != null) {
            UpstreamConnection u = up;
            up = null;
            u.detach();
            u.channel.close();
        }
    }

    private static final byte[] REDIRECT_HEAD = ascii("HTTP/1.1 308 Permanent Redirect\r\nContent-Length: 0\r\n"
        + "Location: https://");

    /**
     * 308 to the same host and target over https (the method and body are kept by a 308). The port is the node's
     * HTTPS port ({@code tls.httpsPort}, else the first TLS listener's), left out when it is 443.
     */
    private boolean redirectToHttps(int headEnd) {
        shard.stats.tlsRedirects++;
        RequestHead r = req;
        ByteBuf b = cum;
        int hostLen = r.hostNameEnd() - r.hostStart;
        ByteBuf out = ch.alloc().directBuffer(REDIRECT_HEAD.length + hostLen + (r.targetEnd - r.targetStart) + 48);
        out.writeBytes(REDIRECT_HEAD);
        out.writeBytes(b, r.hostStart, hostLen);
        out.writeBytes(shard.httpsPortSuffix);
        writeOriginForm(r, b, out);
        out.writeBytes(CRLF);
        // The request body (if any) is not read: the client sends it again to the new location.
        boolean close = !(requestDone && keepAlive);
        if (close) {
            out.writeBytes(CONNECTION_CLOSE);
        }
        out.writeBytes(CRLF);
        cum.readerIndex(headEnd);
        finishExchange(308);
        sendLocal(out, close);
        return !close;
    }

    private boolean localReply(int status) {
        finishExchange(status);
        if (requestDone && keepAlive) {
            sendLocal(status, false);
            return true;
        }
        sendLocal(status, true);
        return false;
    }

    private void reject(int status) {
        shard.stats.rejected++;
        if (!exOpen) {
            openExchange(0); // rejected before routing: counted as unmatched, not logged (no head to log)
            exLogged = false;
            exMethod = RequestHead.M_OTHER;
        }
        finishExchange(status);
        sendLocal(status, true);
    }

    private void sendLocal(int status, boolean close) {
        sendLocal(LocalResponses.get(status, close), close);
    }

    private void sendLocal(ByteBuf r, boolean close) {
        shard.stats.localResponses++;
        if (close) {
            state = CLOSING;
            deadline = shard.nowMs + 2_000;
            if (cum != null) {
                cum.release();
                cum = null;
            }
            ch.writeAndFlush(r).addListener(SHUTDOWN_OUTPUT);
        } else {
            state = HEAD;
            ch.write(r);
            clientFlushPending = true;
        }
    }

    private void closeAfterFlush() {
        state = CLOSING;
        deadline = shard.nowMs + 2_000;
        if (cum != null) {
            cum.release();
            cum = null;
        }
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(SHUTDOWN_OUTPUT);
    }

    private void endExchangeAccounting() {
        if (endpoint != null) {
            endpoint.active--;
            endpoint = null;
        }
        if (activeBackend != null) {
            activeBackend.active--;
            activeBackend = null;
        }
        exUpSent = 0;
    }

    private void releaseRetryHead() {
        if (retryHead != null) {
            retryHead.release();
            retryHead = null;
        }
    }
}
