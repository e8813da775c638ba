package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.sluice.dataplane.http.HttpStatus;

/**
 * One HTTP/2 connection from a shard to a backend endpoint (h2c; for h2 over TLS an {@code SslHandler} goes in front
 * of it, see {@link H2UpstreamPool#open}). Many client streams share it, each as one stream here, up to the
 * backend's SETTINGS_MAX_CONCURRENT_STREAMS. It is its own connect listener. Shard thread only.
 */
final class H2ClientConnection extends H2Connection
    implements Http2FrameListener, H2ShardState.H2Flushable, ChannelFutureListener {
    final Shard shard;
    final H2UpstreamPool pool;
    private final Http2Connection.PropertyKey exchangeKey;
    /** The backend's first SETTINGS arrived: its stream limit is known. */
    boolean ready;
    /** GOAWAY received or sent: no new streams. */
    boolean draining;
    boolean closed;
    private boolean flushMarked;

    private H2ClientConnection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
                               Shard shard, H2UpstreamPool pool) {
        super(decoder, encoder, settings);
        this.shard = shard;
        this.pool = pool;
        this.exchangeKey = connection().newKey();
        connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                H2StreamUser ex = stream.removeProperty(exchangeKey);
                if (ex != null && ex.upStream == stream) {
                    ex.upstreamReset(Http2Error.CANCEL.code(), HttpStatus.BAD_GATEWAY);
                }
                if (!closed) {
                    pool.capacityFreed(H2ClientConnection.this);
                }
            }
        });
        connection().remote().flowController().listener(stream -> {
            H2StreamUser ex = stream.getProperty(exchangeKey);
            if (ex != null && connection().remote().flowController().isWritable(stream)) {
                ex.upstreamWritable();
            }
        });
    }

    static H2ClientConnection create(Shard shard, H2UpstreamPool pool) {
        return new Builder(shard, pool).build();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
        afterPreface(ctx);
    }

    /** Connect completion. */
    @Override
    public void operationComplete(ChannelFuture f) {
        if (!f.isSuccess()) {
            closed = true;
            pool.connectFailed(this, f.cause());
        }
    }

    /** Streams this connection can still open now. */
    int capacity() {
        if (!ready || draining || closed) {
            return 0;
        }
        Http2Connection.Endpoint<?> local = connection().local();
        int max = local.maxActiveStreams();
        if (max == Integer.MAX_VALUE) {
            max = H2Limits.DEFAULT_UPSTREAM_STREAMS;
        }
        if (local.lastStreamCreated() > Integer.MAX_VALUE - 1024) {
            draining = true; // stream ids run out: this connection retires, a new one takes over
            return 0;
        }
        return max - local.numActiveStreams();
    }

    /** Opens a stream for {@code ex} with its request headers. */
    void start(H2StreamUser ex) {
        int id = connection().local().incrementAndGetNextStreamId();
        Http2Headers headers = ex.takeRequestHeaders();
        boolean end = ex.headersEndStream();
        ChannelFuture f = encoder().writeHeaders(ctx, id, headers, 0, end, ctx.newPromise());
        Http2Stream s = connection().stream(id);
        if (s == null || (f.isDone() && !f.isSuccess())) {
            ex.upstreamReset(Http2Error.REFUSED_STREAM.code(), HttpStatus.BAD_GATEWAY);
            return;
        }
        s.setProperty(exchangeKey, ex);
        ex.upstreamStarted(this, s);
        shard.h2.markDirty(this);
    }

    void writeData(Http2Stream s, ByteBuf data, boolean end) {
        encoder().writeData(ctx, s.id(), data, 0, end, ctx.newPromise());
    }

    void writeTrailers(Http2Stream s, Http2Headers trailers) {
        encoder().writeHeaders(ctx, s.id(), trailers, 0, true, ctx.newPromise());
    }

    boolean isWritable(Http2Stream s) {
        return connection().remote().flowController().isWritable(s);
    }

    /** Gives {@code n} bytes back to the backend's window for {@code s} (the client took them). */
    void consume(Http2Stream s, int n) {
        try {
            if (s.state() != Http2Stream.State.CLOSED) {
                connection().local().flowController().consumeBytes(s, n);
                shard.h2.markDirty(this);
            }
        } catch (Http2Exception e) {
            ctx.close();
        }
    }

    /** The client went away: RST_STREAM(CANCEL) to the backend. */
    void cancel(Http2Stream s) {
        s.removeProperty(exchangeKey);
        resetStream(ctx, s.id(), Http2Error.CANCEL.code(), ctx.newPromise());
    }

    /** Route change or shutdown: GOAWAY, streams in flight finish, then the connection closes. */
    void retire() {
        draining = true;
        if (ctx != null && ctx.channel().isActive()) {
            ctx.channel().close(); // through this handler: GOAWAY first (see H2ServerConnection.shutdownGracefully)
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        closed = true;
        pool.closed(this);
        super.channelInactive(ctx); // closes the streams: their exchanges learn it in onStreamClosed
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        super.channelReadComplete(ctx); // flushes this connection; the others written to wait for the loop turn's end
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
            super.exceptionCaught(ctx, cause);
        } else {
            ctx.close();
        }
    }

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
        if (ctx != null) {
            flush(ctx);
        }
    }

    // ---- frames from the backend ----

    private H2StreamUser exchange(int streamId) {
        Http2Stream s = connection().stream(streamId);
        return s == null ? null : s.getProperty(exchangeKey);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
        H2StreamUser ex = exchange(streamId);
        if (ex == null) {
            return data.readableBytes() + padding;
        }
        return ex.upstreamData(data, endOfStream) + padding;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                              boolean endOfStream) {
        H2StreamUser ex = exchange(streamId);
        if (ex != null) {
            ex.upstreamHeaders(headers, endOfStream);
        }
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
        Http2Stream s = connection().stream(streamId);
        H2StreamUser ex = s == null ? null : s.removeProperty(exchangeKey);
        if (ex != null) {
            ex.upstreamReset(errorCode, errorCode == Http2Error.REFUSED_STREAM.code()
                ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY);
        }
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
        if (!ready) {
            ready = true;
            pool.connectionReady(this);
        } else {
            pool.capacityFreed(this);
        }
    }

    @Override
    public void onPingRead(ChannelHandlerContext ctx, long data) {
    }

    @Override
    public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers,
                                  int padding) throws Http2Exception {
        throw Http2Exception.connectionError(Http2Error.PROTOCOL_ERROR, "push was disabled");
    }

    @Override
    public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
        draining = true;
        pool.draining(this);
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
    }

    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<H2ClientConnection, Builder> {
        private final Shard shard;
        private final H2UpstreamPool pool;

        Builder(Shard shard, H2UpstreamPool pool) {
            this.shard = shard;
            this.pool = pool;
            server(false);
            initialSettings(H2Limits.clientSettings(shard.config));
            gracefulShutdownTimeoutMillis(H2Limits.GRACEFUL_SHUTDOWN_MS);
            encoderEnforceMaxQueuedControlFrames(H2Limits.MAX_QUEUED_CONTROL_FRAMES);
            validateHeaders(false); // the backend's headers pass through; the client side validated the request
        }

        @Override
        public H2ClientConnection build() {
            return super.build();
        }

        @Override
        protected H2ClientConnection build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                           Http2Settings initialSettings) {
            H2ClientConnection c = new H2ClientConnection(decoder, encoder, initialSettings, shard, pool);
            frameListener(c);
            return c;
        }
    }
}
