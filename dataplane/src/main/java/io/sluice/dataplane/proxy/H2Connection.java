package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * What both ends of Sluice's HTTP/2 connections share ({@link H2ServerConnection} towards clients,
 * {@link H2ClientConnection} towards backends): the handler context, and a connection window larger than the
 * protocol's default 64 KiB, granted once right after the preface (many streams share it; bounded by
 * {@link H2Limits#CONNECTION_WINDOW}), and the frame events both ignore (priority, SETTINGS and PING acks, unknown
 * frames; HEADERS with priority are plain HEADERS).
 */
abstract class H2Connection extends Http2ConnectionHandler implements Http2FrameListener {
    ChannelHandlerContext ctx;
    private boolean windowGrown;

    H2Connection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
        super(decoder, encoder, settings);
    }

    /** Call from {@code handlerAdded} after {@code super.handlerAdded}: on an active channel the preface went out. */
    final void afterPreface(ChannelHandlerContext c) {
        if (c.channel().isActive()) {
            growConnectionWindow();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext c) throws Exception {
        super.channelActive(c); // sends the preface
        growConnectionWindow();
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int streamDependency,
                              short weight, boolean exclusive, int padding, boolean endOfStream)
        throws Http2Exception {
        onHeadersRead(c, streamId, headers, padding, endOfStream);
    }

    @Override
    public void onPriorityRead(ChannelHandlerContext c, int streamId, int streamDependency, short weight,
                               boolean exclusive) {
    }

    @Override
    public void onSettingsAckRead(ChannelHandlerContext c) {
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext c, long data) {
    }

    @Override
    public void onUnknownFrame(ChannelHandlerContext c, byte frameType, int streamId, Http2Flags flags,
                               ByteBuf payload) {
    }

    private void growConnectionWindow() {
        if (windowGrown) {
            return;
        }
        windowGrown = true;
        try {
            connection().local().flowController().incrementWindowSize(connection().connectionStream(),
                H2Limits.CONNECTION_WINDOW - 65_535);
        } catch (Http2Exception e) {
            ctx.close();
        }
    }
}
