package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.dataplane.http.ChunkedScanner;
import io.sluice.dataplane.http.HttpStatus;
import io.sluice.dataplane.http.MessageHead;
import io.sluice.dataplane.http.ResponseHead;

/**
 * One keep-alive connection from a shard to an endpoint. Between exchanges it sits idle in its {@link UpstreamPool};
 * during one it belongs to a {@link DownstreamConnection} (its owner), parses the response head in place and streams
 * the body to the client as retained slices, following Content-Length, chunked or close-delimited framing.
 * It is its own connect listener, so opening a connection allocates nothing else.
 */
final class UpstreamConnection extends ChannelInboundHandlerAdapter implements ChannelFutureListener {
    private static final int MAX_RESPONSE_HEAD = 64 * 1024;
    private static final int HEAD = 0;
    private static final int BODY_LENGTH = 1;
    private static final int BODY_CHUNKED = 2;
    private static final int BODY_UNTIL_CLOSE = 3;
    private static final int TUNNEL = 4;

    final Shard shard;
    final UpstreamPool pool;
    Channel channel;
    UpstreamOwner owner;
    boolean reused;
    private boolean gotBytes;
    private boolean closedCounted;
    private boolean pausedForClient;
    private ByteBuf cum;
    private int scanOffset;
    private int state = HEAD;
    private long remaining;
    private final ResponseHead resp;
    private final ChunkedScanner chunks = new ChunkedScanner();
    /** Set while a chunked body goes to an owner that wants the chunk data only (HTTP/2 frames its own). */
    private ChunkedScanner.DataSink decoded;
    private final ChunkedScanner.DataSink chunkSink = this::chunkData;

    UpstreamConnection(Shard shard, UpstreamPool pool) {
        this.shard = shard;
        this.pool = pool;
        this.resp = new ResponseHead(shard.config.limits().maxHeaderCount());
    }

    /** Connect completion: tell the exchange that opened this connection. */
    @Override
    public void operationComplete(ChannelFuture f) {
        channel = f.channel();
        UpstreamOwner o = owner;
        owner = null;
        if (!f.isSuccess()) {
            markClosed();
        }
        if (o != null) {
            o.connected(this, f.isSuccess() ? null : f.cause());
        } else if (f.isSuccess()) {
            pool.release(this);
        }
    }

    /** Remembers which exchange is waiting for this connection to open. */
    void opening(UpstreamOwner o) {
        owner = o;
    }

    void attach(UpstreamOwner o) {
        owner = o;
        gotBytes = false;
        state = HEAD;
        scanOffset = 0;
    }

    void detach() {
        owner = null;
        if (pausedForClient) {
            pausedForClient = false;
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        UpstreamOwner o = owner;
        if (o == null) {
            // Bytes from an idle connection: it is out of step, so it is not safe to reuse.
            in.release();
            ctx.close();
            return;
        }
        gotBytes = true;
        o.upstreamActivity();
        if (state == TUNNEL) {
            o.writeResponseBody(in);
            return;
        }
        cum = Cumulation.append(ctx.alloc(), cum, in);
        process();
        if (cum != null && !cum.isReadable()) {
            cum.release();
            cum = null;
        }
    }

    private void process() {
        while (cum != null && cum.isReadable() && owner != null) {
            if (state == HEAD) {
                if (!readHead()) {
                    return;
                }
                continue;
            }
            int ri = cum.readerIndex();
            int wi = cum.writerIndex();
            switch (state) {
                case BODY_LENGTH -> {
                    int n = (int) Math.min(remaining, wi - ri);
                    remaining -= n;
                    owner.writeResponseBody(cum.readRetainedSlice(n));
                    if (remaining == 0) {
                        complete(resp.keepAlive());
                    }
                }
                case BODY_CHUNKED -> {
                    int e = chunks.scan(cum, ri, wi, decoded);
                    if (e < 0) {
                        failMidResponse();
                        return;
                    }
                    if (decoded != null) {
                        cum.readerIndex(e); // the data went out through the sink, chunk by chunk
                    } else if (e > ri) {
                        owner.writeResponseBody(cum.readRetainedSlice(e - ri));
                    }
                    if (chunks.done()) {
                        complete(resp.keepAlive());
                    }
                }
                case BODY_UNTIL_CLOSE -> owner.writeResponseBody(cum.readRetainedSlice(wi - ri));
                default -> {
                    return;
                }
            }
        }
    }

    private void chunkData(ByteBuf buf, int index, int length) {
        owner.writeResponseBody(buf.retainedSlice(index, length));
    }

    private boolean readHead() {
        int ri = cum.readerIndex();
        int wi = cum.writerIndex();
        int end = MessageHead.findEnd(cum, ri, ri + scanOffset, wi, MAX_RESPONSE_HEAD, MAX_RESPONSE_HEAD);
        if (end == HttpStatus.NEED_MORE) {
            scanOffset = Math.max(0, wi - ri - 3);
            return false;
        }
        scanOffset = 0;
        if (end < 0 || resp.parse(cum, ri, end) != HttpStatus.OK) {
            failBeforeResponse(HttpStatus.BAD_GATEWAY);
            return false;
        }
        UpstreamOwner o = owner;
        if (resp.status < 200) {
            if (resp.status == 101 && o.upgradeRequested()) {
                o.onResponseHead(resp, true);
                cum.readerIndex(end);
                state = TUNNEL;
                if (cum.isReadable()) {
                    o.writeResponseBody(cum.retain());
                }
                cum.release();
                cum = null;
                return false;
            }
            if (resp.status == 101) {
                failBeforeResponse(HttpStatus.BAD_GATEWAY); // switching protocols nobody asked for
                return false;
            }
            o.onInterimResponse(cum.retainedSlice(ri, end - ri));
            cum.readerIndex(end);
            return true;
        }
        o.onResponseHead(resp, false);
        cum.readerIndex(end);
        if (!resp.hasBody(o.headRequest())) {
            complete(resp.keepAlive());
        } else if (resp.chunked) {
            chunks.reset(Long.MAX_VALUE);
            decoded = o.decodesChunks() ? chunkSink : null;
            state = BODY_CHUNKED;
        } else if (resp.contentLength >= 0) {
            remaining = resp.contentLength;
            state = BODY_LENGTH;
            if (remaining == 0) {
                complete(resp.keepAlive());
            }
        } else {
            state = BODY_UNTIL_CLOSE;
        }
        return true;
    }

    private void complete(boolean keepAlive) {
        UpstreamOwner o = owner;
        state = HEAD;
        boolean clean = keepAlive && (cum == null || cum.readableBytes() == 0);
        if (cum != null && cum.readableBytes() > 0) {
            cum.skipBytes(cum.readableBytes()); // more than the response: this connection is not reusable
        }
        o.onResponseComplete(clean);
    }

    private void failBeforeResponse(int status) {
        UpstreamOwner o = owner;
        if (cum != null) {
            cum.release();
            cum = null;
        }
        channel.close();
        o.onUpstreamFailure(status, false);
    }

    private void failMidResponse() {
        UpstreamOwner o = owner;
        if (cum != null) {
            cum.release();
            cum = null;
        }
        channel.close();
        o.onUpstreamFailure(HttpStatus.BAD_GATEWAY, false);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamOwner o = owner;
        if (o != null) {
            o.flushClient();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamOwner o = owner;
        if (o != null && channel.isWritable()) {
            o.resumeFromUpstream();
        }
    }

    void pauseReads() {
        if (!pausedForClient) {
            pausedForClient = true;
            channel.config().setAutoRead(false);
        }
    }

    void resumeReads() {
        if (pausedForClient) {
            pausedForClient = false;
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        markClosed();
        if (cum != null) {
            cum.release();
            cum = null;
        }
        UpstreamOwner o = owner;
        owner = null;
        if (o == null) {
            return;
        }
        switch (state) {
            case BODY_UNTIL_CLOSE -> o.onResponseComplete(false);
            case TUNNEL -> o.tunnelClosed();
            default -> o.onUpstreamFailure(HttpStatus.BAD_GATEWAY, reused && !gotBytes);
        }
    }

    private void markClosed() {
        if (!closedCounted) {
            closedCounted = true;
            pool.closed(this);
        }
    }
}
