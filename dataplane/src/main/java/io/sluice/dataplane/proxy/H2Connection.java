package io.sluice.dataplane.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * What both ends of Sluice's HTTP/2 connections share ({@link H2ServerConnection} towards clients,
 * {@link H2ClientConnection} towards backends): the handler context, and a connection window larger than the
 * protocol's default 64 KiB, granted once right after the preface (many streams share it; bounded by
 * {@link H2Limits#CONNECTION_WINDOW}).
 */
abstract class H2Connection extends Http2ConnectionHandler {
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
