package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;

import java.net.InetSocketAddress;

/**
 * One HTTP/2 client connection on a shard (h2c with prior knowledge, or h2 after TLS with ALPN {@code h2}): Netty's
 * {@link Http2ConnectionHandler} (frame codec, HPACK, flow control, stream states) with this class as its frame
 * listener. Each request stream becomes an {@link H2Exchange}, routed with the shard's {@code Router} and sent to an
 * HTTP/2 upstream ({@link H2UpstreamPool}) or an HTTP/1.1 one ({@link UpstreamPool}). Runs on the shard's thread only.
 *
 * <p>Defences, on top of Netty's (configured in {@link #builder}): PING and SETTINGS frames beyond
 * {@link H2Limits#CONTROL_FRAMES_PER_SECOND} in a second end the connection with GOAWAY ENHANCE_YOUR_CALM; a stream
 * whose response cannot move because the client keeps its window shut is reset after the read timeout (a zero-window
 * stall), and an idle connection (no stream open) gets GOAWAY after the idle timeout.
 */
final class H2ServerConnection extends H2Connection implements Http2FrameListener, H2ShardState.H2Flushable {
    final Shard shard;
    final boolean secure;
    final AsciiString listenerPort;
    AsciiString clientIp;
    /** Client certificate result for upstream ({@code ssl-client-verify}, {@code ssl-client-subject-dn}), or null. */
    AsciiString clientVerify;
    AsciiString clientSubjectDn;
    final Http2Connection.PropertyKey exchangeKey;
    /** Reused buffer for routing: authority and path bytes copied in, matched by the Router (no String). */
    ByteBuf routeScratch = Unpooled.wrappedBuffer(new byte[512]);
    H2ServerConnection prev;
    H2ServerConnection next;
    private boolean flushMarked;
    private boolean registered;
    private long windowStartMs;
    private int controlFrames;
    private long idleSinceMs;
    /** Since when responses have waited for the client's window without any WINDOW_UPDATE from it (0: none). */
    private long stalledSinceMs;

    private H2ServerConnection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
                               Shard shard, int listenerPort, boolean secure) {
        super(decoder, encoder, settings);
        this.shard = shard;
        this.secure = secure;
        this.listenerPort = AsciiString.of(Integer.toString(listenerPort));
        this.exchangeKey = connection().newKey();
        connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                H2Exchange ex = stream.removeProperty(exchangeKey);
                if (ex != null) {
                    ex.downstreamClosed();
                }
            }

            @Override
            public void onStreamActive(Http2Stream stream) {
                idleSinceMs = 0;
            }
        });
        connection().remote().flowController().listener(stream -> {
            H2Exchange ex = stream.getProperty(exchangeKey);
            if (ex != null) {
                ex.downstreamWritabilityChanged();
            }
        });
    }

    static H2ServerConnection create(Shard shard, int listenerPort, boolean secure) {
        return new Builder(shard, listenerPort, secure).build();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        if (clientIp != null) {
            // set by the HTTP/1 side that handed the connection over (PROXY protocol address)
        } else if (ctx.channel().remoteAddress() instanceof InetSocketAddress isa) {
            clientIp = AsciiString.of(isa.getAddress().getHostAddress());
        } else {
            clientIp = AsciiString.of("unknown");
        }
        shard.h2.register(this);
        registered = true;
        shard.h2ConnectionsChanged();
        idleSinceMs = shard.nowMs;
        super.handlerAdded(ctx);
        afterPreface(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        unregister();
        super.channelInactive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
        unregister();
        super.handlerRemoved0(ctx);
    }

    private void unregister() {
        if (registered) {
            registered = false;
            shard.h2.unregister(this);
            shard.h2ConnectionsChanged();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        super.channelReadComplete(ctx); // flushes this connection; the others written to wait for the loop turn's end
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
            super.exceptionCaught(ctx, cause); // GOAWAY or RST_STREAM as the codec decides
        } else {
            ctx.close(); // resets and the like: nothing to answer, nothing to log per connection
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
        flush(ctx);
    }

    /** Called by the shard's sweep every 100 ms. */
    void sweep(long nowMs) {
        if (connection().numActiveStreams() == 0) {
            if (idleSinceMs == 0) {
                idleSinceMs = nowMs;
            } else if (nowMs - idleSinceMs > shard.config.timeouts().idleMs()) {
                shutdownGracefully();
            }
            return;
        }
        boolean pending = false;
        try {
            pending = sweepStreams(nowMs);
        } catch (Http2Exception e) {
            ctx.close();
            return;
        }
        // Zero-window stall: responses wait for window the client never gives (no WINDOW_UPDATE) or for a socket it
        // does not read. A slow reader that makes progress resets this with each WINDOW_UPDATE.
        if (!pending) {
            stalledSinceMs = 0;
        } else if (stalledSinceMs == 0) {
            stalledSinceMs = nowMs;
        } else if (nowMs - stalledSinceMs > shard.config.timeouts().readMs()) {
            shard.stats.rejected++;
            H2Exchange.goAwayCalm(this);
            return;
        }
        flush(ctx);
    }

    private boolean sweepPending;
    private long sweepNow;

    private final io.netty.handler.codec.http2.Http2StreamVisitor sweepVisitor = this::sweepStream;

    private boolean sweepStream(Http2Stream stream) {
        H2Exchange ex = stream.getProperty(exchangeKey);
        if (ex != null) {
            ex.sweep(sweepNow);
        }
        if (encoder().flowController().hasFlowControlled(stream)) {
            sweepPending = true;
        }
        return true;
    }

    private boolean sweepStreams(long nowMs) throws Http2Exception {
        sweepNow = nowMs;
        sweepPending = false;
        connection().forEachActiveStream(sweepVisitor);
        return sweepPending;
    }

    /** GOAWAY(NO_ERROR); streams already open finish (up to the graceful timeout), then the connection closes. */
    void shutdownGracefully() {
        if (ctx.channel().isActive()) {
            // through the pipeline's tail, so that Http2ConnectionHandler.close runs: GOAWAY, then close when the
            // active streams are done (ctx.close() would skip this handler and cut the connection)
            ctx.channel().close();
        }
    }

    // ---- frames ----

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
        Http2Stream stream = connection().stream(streamId);
        H2Exchange ex = stream == null ? null : stream.getProperty(exchangeKey);
        if (ex == null) {
            return data.readableBytes() + padding;
        }
        return ex.clientData(data, endOfStream) + padding;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                              boolean endOfStream) {
        Http2Stream stream = connection().stream(streamId);
        if (stream == null) {
            return;
        }
        H2Exchange ex = stream.getProperty(exchangeKey);
        if (ex != null) {
            ex.clientTrailers(headers, endOfStream);
            return;
        }
        ex = new H2Exchange(this, stream);
        stream.setProperty(exchangeKey, ex);
        ex.start(headers, endOfStream);
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
        Http2Stream stream = connection().stream(streamId);
        H2Exchange ex = stream == null ? null : stream.getProperty(exchangeKey);
        if (ex != null) {
            ex.clientReset(errorCode);
        }
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
        countControlFrame();
    }

    @Override
    public void onPingRead(ChannelHandlerContext ctx, long data) {
        countControlFrame();
    }

    @Override
    public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers,
                                  int padding) {
    }

    @Override
    public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
        stalledSinceMs = 0; // the client reads: progress
    }

    /** PING and SETTINGS cost the node a reply each: a client that sends them by the thousand loses its connection. */
    private void countControlFrame() {
        long now = shard.nowMs;
        if (now - windowStartMs >= 1000) {
            windowStartMs = now;
            controlFrames = 0;
        }
        if (++controlFrames > H2Limits.CONTROL_FRAMES_PER_SECOND) {
            shard.stats.rejected++;
            H2Exchange.goAwayCalm(this);
        }
    }

    /** Netty's builder, with Sluice's limits set explicitly (see {@link H2Limits}). */
    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<H2ServerConnection, Builder> {
        private final Shard shard;
        private final int listenerPort;
        private final boolean secure;

        Builder(Shard shard, int listenerPort, boolean secure) {
            this.shard = shard;
            this.listenerPort = listenerPort;
            this.secure = secure;
            server(true);
            initialSettings(H2Limits.serverSettings(shard.config));
            gracefulShutdownTimeoutMillis(H2Limits.GRACEFUL_SHUTDOWN_MS);
            decoderEnforceMaxRstFramesPerWindow(H2Limits.MAX_RST_PER_WINDOW, H2Limits.RST_WINDOW_SECONDS);
            decoderEnforceMaxSmallContinuationFrames(H2Limits.MAX_SMALL_CONTINUATION_FRAMES);
            decoderEnforceMaxConsecutiveEmptyDataFrames(H2Limits.MAX_CONSECUTIVE_EMPTY_DATA_FRAMES);
            encoderEnforceMaxQueuedControlFrames(H2Limits.MAX_QUEUED_CONTROL_FRAMES);
            encoderEnforceMaxConcurrentStreams(false);
            validateHeaders(true);
        }

        @Override
        public H2ServerConnection build() {
            return super.build();
        }

        @Override
        protected H2ServerConnection build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                           Http2Settings initialSettings) {
            H2ServerConnection c = new H2ServerConnection(decoder, encoder, initialSettings, shard, listenerPort,
                secure);
            frameListener(c);
            return c;
        }
    }
}
