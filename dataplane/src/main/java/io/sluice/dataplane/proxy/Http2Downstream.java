package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPipeline;

import java.nio.charset.StandardCharsets;

/**
 * The entry point into Sluice's HTTP/2 server side. The TLS handler calls {@link #install} after a handshake that
 * negotiated ALPN {@code h2}; on cleartext listeners {@link DownstreamConnection} calls it when a connection starts with
 * the HTTP/2 connection preface (h2c with prior knowledge).
 */
public final class Http2Downstream {
    /** {@code PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n} (RFC 9113 §3.4). */
    static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private Http2Downstream() {
    }

    /**
     * Makes the connection of {@code pipeline} an HTTP/2 connection served by {@code shard}: adds the HTTP/2 handler
     * at the end of the pipeline (after any TLS handler). Call on the shard's event loop, with the channel registered
     * on it; bytes already read must then be fired into the pipeline by the caller.
     *
     * @param listenerPort the port the client connected to (X-Forwarded-Port)
     * @param secure       true after TLS (X-Forwarded-Proto: https)
     */
    public static void install(ChannelPipeline pipeline, Shard shard, int listenerPort, boolean secure) {
        pipeline.addLast("sluice-h2", H2ServerConnection.create(shard, listenerPort, secure));
    }

    /**
     * As {@link #install(ChannelPipeline, Shard, int, boolean)}, for a connection whose HTTP/1 side already knows its
     * client: the address (from a PROXY protocol header, else the socket's) and, with client certificate
     * authentication, what upstream learns in {@code ssl-client-verify} / {@code ssl-client-subject-dn}.
     */
    static void install(ChannelPipeline pipeline, Shard shard, int listenerPort, boolean secure, byte[] clientIp,
                        String clientVerify, String clientSubjectDn) {
        H2ServerConnection h = H2ServerConnection.create(shard, listenerPort, secure);
        if (clientIp != null) {
            h.clientIp = new io.netty.util.AsciiString(clientIp, true);
        }
        h.clientVerify = clientVerify == null ? null : io.netty.util.AsciiString.of(clientVerify);
        h.clientSubjectDn = clientSubjectDn == null ? null : io.netty.util.AsciiString.of(clientSubjectDn);
        pipeline.addLast("sluice-h2", h);
    }

    /** After {@code 101 Switching Protocols} to an h2c upgrade: the upgrading request becomes stream 1. */
    static void installUpgraded(ChannelPipeline pipeline, Shard shard, int listenerPort,
                                io.netty.handler.codec.http2.Http2Settings clientSettings,
                                io.netty.handler.codec.http2.Http2Headers request) {
        H2ServerConnection h = H2ServerConnection.create(shard, listenerPort, false);
        pipeline.addLast("sluice-h2", h);
        try {
            h.onHttpServerUpgrade(clientSettings);
        } catch (io.netty.handler.codec.http2.Http2Exception e) {
            pipeline.channel().close();
            return;
        }
        h.onHeadersRead(h.ctx, 1, request, 0, true);
        h.flushNow();
        shard.h2.flushDirty();
    }

    /**
     * Whether the bytes at the start of {@code buf} are (so far) the HTTP/2 preface.
     *
     * @return 1: the whole preface is there; 0: a prefix of it, need more bytes; -1: not HTTP/2
     */
    static int matchPreface(ByteBuf buf) {
        int ri = buf.readerIndex();
        int n = Math.min(buf.readableBytes(), PREFACE.length);
        for (int i = 0; i < n; i++) {
            if (buf.getByte(ri + i) != PREFACE[i]) {
                return -1;
            }
        }
        return n == PREFACE.length ? 1 : 0;
    }
}
