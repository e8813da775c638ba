package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.sluice.dataplane.http.ChunkedScanner;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One HTTP/1.1 client request to an HTTP/2 backend (H2C, GRPC): the request head becomes HTTP/2 headers
 * ({@code Host} → {@code :authority}, hop-by-hop headers dropped, see {@link H2cUpgrade#headers}), the body (length-
 * delimited or de-chunked) becomes DATA on a stream of the endpoint's {@link H2UpstreamPool}, and the response comes
 * back as HTTP/1.1: chunked unless it has a content-length, HTTP/2 trailers as chunked trailers. gRPC-Web over
 * HTTP/1.1 is translated on the way ({@link GrpcWeb}). Owned by its {@link DownstreamConnection}; shard thread only.
 */
final class H1ToH2Exchange extends H2StreamUser {
    private static final byte[] HTTP11 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "Transfer-Encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "Connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VIA_END = "Via: 2 sluice\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final DownstreamConnection dc;
    private Http2Headers headers;
    private final GrpcWeb grpcWeb;
    /** Request bytes that arrived before the upstream stream existed. */
    private io.netty.buffer.CompositeByteBuf pending;
    private boolean requestEnded;
    private boolean sentEnd;
    private H2UpstreamPool waitingIn;
    private boolean responseChunked;
    private boolean done;
    private int unconsumed;
    final ChunkedScanner.DataSink chunkSink = this::chunkData;

    H1ToH2Exchange(DownstreamConnection dc, Http2Headers headers, boolean requestDone) {
        this.dc = dc;
        this.headers = headers;
        this.requestEnded = requestDone;
        this.grpcWeb = GrpcWeb.of(headers.get(H2Exchange.CONTENT_TYPE));
        if (grpcWeb != null) {
            grpcWeb.requestHeaders(headers);
        }
    }

    // ---- request (called by the DownstreamConnection) ----

    private void chunkData(ByteBuf buf, int index, int length) {
        requestData(buf.retainedSlice(index, length));
    }

    void requestData(ByteBuf data) {
        if (done) {
            data.release();
            return;
        }
        ByteBuf d = grpcWeb != null ? grpcWeb.requestData(dc.ch.alloc(), data) : data;
        if (upStream != null) {
            upConn.writeData(upStream, d, false);
            dc.shard.h2.markDirty(upConn);
        } else {
            if (pending == null) {
                pending = dc.ch.alloc().compositeDirectBuffer(64);
            }
            pending.addComponent(true, d);
        }
    }

    void requestEnd() {
        requestEnded = true;
        if (upStream != null && !sentEnd && !done) {
            sentEnd = true;
            upConn.writeData(upStream, Unpooled.EMPTY_BUFFER, true);
            dc.shard.h2.markDirty(upConn);
        }
    }

    /** Whether the backend can take more request bytes now (else the client's reads pause). */
    boolean writable() {
        return upStream == null ? pending == null || pending.readableBytes() < H2Limits.STREAM_WINDOW
            : upConn.isWritable(upStream);
    }

    /** The client's socket can take more: give the backend back the window its response used. */
    void clientWritable() {
        int n = unconsumed;
        if (n > 0 && upStream != null) {
            unconsumed = 0;
            upConn.consume(upStream, n);
        }
    }

    /** The client went away or timed out. */
    void cancel() {
        done = true;
        if (waitingIn != null) {
            waitingIn.cancel(this);
            waitingIn = null;
        }
        if (upStream != null && upStream.state() != Http2Stream.State.CLOSED) {
            upConn.cancel(upStream);
            dc.shard.h2.markDirty(upConn);
        }
        upStream = null;
        upConn = null;
        release();
    }

    private void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    // ---- H2StreamUser ----

    @Override
    Http2Headers takeRequestHeaders() {
        Http2Headers h = headers;
        headers = null;
        return h;
    }

    @Override
    boolean headersEndStream() {
        return requestEnded && pending == null;
    }

    @Override
    void upstreamStarted(H2ClientConnection c, Http2Stream s) {
        waitingIn = null;
        upConn = c;
        upStream = s;
        if (requestEnded && pending == null) {
            sentEnd = true; // the headers carried END_STREAM
        }
        if (pending != null) {
            io.netty.buffer.CompositeByteBuf p = pending;
            pending = null;
            sentEnd = requestEnded;
            c.writeData(s, p, requestEnded);
        }
        dc.shard.h2.markDirty(c);
        if (c.isWritable(s)) {
            dc.resumeFromUpstream();
        }
    }

    @Override
    void waitingIn(H2UpstreamPool pool) {
        waitingIn = pool;
    }

    @Override
    void upstreamHeaders(Http2Headers h, boolean endOfStream) {
        if (done) {
            return;
        }
        dc.upstreamActivity();
        if (!dc.responseStarted) {
            CharSequence status = h.status();
            int code = status == null ? 502 : Integer.parseInt(status.toString());
            if (code < 200) {
                return; // 1xx: not relayed
            }
            if (grpcWeb != null) {
                grpcWeb.responseHeaders(h);
            }
            writeHead(code, h, endOfStream);
            if (endOfStream) {
                finish();
            }
            return;
        }
        // trailers
        ByteBuf out;
        if (grpcWeb != null) {
            ByteBuf frame = grpcWeb.responseData(dc.ch.alloc(), GrpcWeb.trailerFrame(dc.ch.alloc(), h), true);
            writeBody(frame);
            out = dc.ch.alloc().directBuffer(5).writeBytes(H2ToH1.LAST_CHUNK.duplicate());
            dc.ch.write(out);
        } else if (responseChunked) {
            out = dc.ch.alloc().directBuffer(256);
            out.writeBytes(H2ToH1.ZERO_CHUNK_LINE);
            for (Map.Entry<CharSequence, CharSequence> e : h) {
                H2ToH1.writeAscii(out, e.getKey());
                out.writeShort(0x3a20);
                H2ToH1.writeAscii(out, e.getValue());
                out.writeShort(0x0d0a);
            }
            out.writeShort(0x0d0a);
            dc.ch.write(out);
        }
        finish();
    }

    private void writeHead(int code, Http2Headers h, boolean endOfStream) {
        dc.responseStarted = true;
        boolean bodyless = dc.headMethod || code == 204 || code == 304;
        responseChunked = !bodyless && !endOfStream && !h.contains(H2Exchange.CONTENT_LENGTH);
        ByteBuf out = dc.ch.alloc().directBuffer(512);
        out.writeBytes(HTTP11);
        out.writeCharSequence(Integer.toString(code), StandardCharsets.US_ASCII);
        out.writeByte(' ');
        out.writeCharSequence(HttpResponseStatus.valueOf(code).reasonPhrase(), StandardCharsets.US_ASCII);
        out.writeShort(0x0d0a);
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence name = e.getKey();
            if (name.length() == 0 || name.charAt(0) == ':') {
                continue;
            }
            H2ToH1.writeAscii(out, name);
            out.writeShort(0x3a20);
            H2ToH1.writeAscii(out, e.getValue());
            out.writeShort(0x0d0a);
        }
        if (!bodyless && endOfStream && !h.contains(H2Exchange.CONTENT_LENGTH)) {
            out.writeBytes("Content-Length: 0\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        if (responseChunked) {
            out.writeBytes(CHUNKED);
        }
        if (!dc.keepAlive()) {
            out.writeBytes(CLOSE);
        }
        out.writeBytes(VIA_END);
        dc.ch.write(out);
        dc.shard.h2.markDirty(dc.flushable);
    }

    @Override
    int upstreamData(ByteBuf data, boolean endOfStream) {
        int n = data.readableBytes();
        if (done) {
            return n;
        }
        dc.upstreamActivity();
        if (n > 0 && !dc.headMethod) {
            ByteBuf d = data.retain();
            if (grpcWeb != null) {
                d = grpcWeb.responseData(dc.ch.alloc(), d, endOfStream);
            }
            writeBody(d);
        }
        if (endOfStream) {
            if (responseChunked) {
                dc.ch.write(H2ToH1.LAST_CHUNK.retainedDuplicate());
            }
            finish();
            return n;
        }
        dc.shard.h2.markDirty(dc.flushable);
        if (dc.ch.isWritable()) {
            return n;
        }
        unconsumed += n;
        return 0;
    }

    private void writeBody(ByteBuf d) {
        int n = d.readableBytes();
        if (n == 0) {
            d.release();
            return;
        }
        if (responseChunked) {
            ByteBuf size = dc.ch.alloc().directBuffer(12);
            size.writeCharSequence(Integer.toHexString(n), StandardCharsets.US_ASCII);
            size.writeShort(0x0d0a);
            dc.ch.write(size);
            dc.ch.write(d);
            dc.ch.write(H2ToH1.CRLF.retainedDuplicate());
        } else {
            dc.ch.write(d);
        }
    }

    private void finish() {
        done = true;
        release();
        if (!sentEnd && upStream != null && upStream.state() != Http2Stream.State.CLOSED) {
            upConn.cancel(upStream); // the response is whole while the request still goes on: stop it
            dc.shard.h2.markDirty(upConn);
        }
        upStream = null;
        upConn = null;
        dc.h2ExchangeDone(this, true);
    }

    @Override
    void upstreamReset(long errorCode, int status) {
        upStream = null;
        upConn = null;
        waitingIn = null;
        if (done) {
            return;
        }
        done = true;
        release();
        dc.h2ExchangeDone(this, false);
        dc.onUpstreamFailure(status, false);
    }

    @Override
    void upstreamWritable() {
        dc.resumeFromUpstream();
    }

}
