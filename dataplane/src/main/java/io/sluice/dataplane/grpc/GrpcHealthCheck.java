package io.sluice.dataplane.grpc;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client of the gRPC health-checking protocol ({@code grpc.health.v1.Health/Check}) over h2c: one connection, one
 * call, then close. For health checkers of gRPC endpoints; runs on the event loop it is given (a shard's, or any
 * Netty loop) and completes its future there. No protobuf library: the request and the answer are two-field messages
 * encoded by hand ({@code HealthCheckRequest.service = 1}, {@code HealthCheckResponse.status = 1}).
 *
 * <pre>
 *   GrpcHealthCheck.check(loop, new InetSocketAddress("10.0.0.5", 50051), "", 1000)
 *       .thenAccept(r -&gt; ... r == Result.SERVING ...)
 * </pre>
 */
public final class GrpcHealthCheck {
    /** The outcome: the protocol's four serving states, or FAILED (no answer, a gRPC error, a timeout). */
    public enum Result { UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN, FAILED }

    private static final AsciiString PATH = AsciiString.cached("/grpc.health.v1.Health/Check");

    private GrpcHealthCheck() {
    }

    /**
     * Checks {@code service} ({@code ""}: the server as a whole) at {@code address}.
     *
     * @param timeoutMs the whole check, connect included; sent as {@code grpc-timeout} too
     */
    public static CompletableFuture<Result> check(EventLoop loop, InetSocketAddress address, String service,
                                                  long timeoutMs) {
        CompletableFuture<Result> result = new CompletableFuture<>();
        Call call = new Call(result, address, service, timeoutMs);
        Bootstrap b = new Bootstrap().group(loop)
            .channel(loop instanceof io.netty.channel.IoEventLoop io
                && io.isIoType(io.netty.channel.epoll.EpollIoHandler.class)
                ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, timeoutMs))
            .handler(call.handler);
        loop.execute(() -> {
            ChannelFuture f = b.connect(address);
            call.channel = f.channel();
            call.timer = loop.schedule(() -> call.finish(Result.FAILED), timeoutMs, TimeUnit.MILLISECONDS);
            f.addListener(x -> {
                if (!x.isSuccess()) {
                    call.finish(Result.FAILED);
                }
            });
        });
        return result;
    }

    private static final class Call extends Http2FrameAdapter {
        final CompletableFuture<Result> result;
        final InetSocketAddress address;
        final String service;
        final long timeoutMs;
        final Http2ConnectionHandler handler;
        Channel channel;
        ScheduledFuture<?> timer;
        int status = -1;
        byte[] message = new byte[0];

        Call(CompletableFuture<Result> result, InetSocketAddress address, String service, long timeoutMs) {
            this.result = result;
            this.address = address;
            this.service = service;
            this.timeoutMs = timeoutMs;
            this.handler = new Http2ConnectionHandlerBuilder().server(false).frameListener(this)
                .initialSettings(new Http2Settings().pushEnabled(false)).build();
        }

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            if (status != -1) {
                return;
            }
            status = -2; // request sent
            Http2Headers h = new DefaultHttp2Headers()
                .method("POST").scheme("http").path(PATH)
                .authority(address.getHostString() + ":" + address.getPort());
            h.set("content-type", "application/grpc");
            h.set("te", "trailers");
            h.set("grpc-timeout", Math.max(1, timeoutMs) + "m");
            byte[] svc = service.getBytes(StandardCharsets.UTF_8);
            ByteBuf body = ctx.alloc().buffer(5 + 2 + svc.length + 4);
            int msgLen = svc.length == 0 ? 0 : 1 + varintSize(svc.length) + svc.length;
            body.writeByte(0).writeInt(msgLen);
            if (svc.length > 0) {
                body.writeByte(0x0a);
                writeVarint(body, svc.length);
                body.writeBytes(svc);
            }
            handler.encoder().writeHeaders(ctx, 3, h, 0, false, ctx.newPromise());
            handler.encoder().writeData(ctx, 3, body, 0, true, ctx.newPromise());
            ctx.flush();
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                              boolean endOfStream) {
            int n = data.readableBytes();
            if (message.length + n <= 1024) {
                byte[] m = new byte[message.length + n];
                System.arraycopy(message, 0, m, 0, message.length);
                data.getBytes(data.readerIndex(), m, message.length, n);
                message = m;
            }
            return n + padding;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            CharSequence gs = headers.get("grpc-status");
            if (gs != null) {
                int code = Integer.parseInt(gs.toString());
                if (code == 5) {
                    finish(Result.SERVICE_UNKNOWN); // NOT_FOUND: the server does not know the service
                } else if (code != 0) {
                    finish(Result.FAILED);
                } else {
                    finish(parse(message));
                }
            } else if (endOfStream) {
                finish(Result.FAILED);
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            finish(Result.FAILED);
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
            if (lastStreamId < 3) {
                finish(Result.FAILED);
            }
        }

        /** A length-prefixed HealthCheckResponse: field 1 (varint) is the status; absent means UNKNOWN (0). */
        static Result parse(byte[] m) {
            if (m.length < 5 || m[0] != 0) {
                return Result.FAILED;
            }
            int status = 0;
            for (int i = 5; i + 1 < m.length; ) {
                int tag = m[i++] & 0xff;
                if (tag == 0x08) {
                    status = m[i] & 0x7f;
                    break;
                }
                return Result.FAILED;
            }
            return switch (status) {
                case 0 -> Result.UNKNOWN;
                case 1 -> Result.SERVING;
                case 2 -> Result.NOT_SERVING;
                case 3 -> Result.SERVICE_UNKNOWN;
                default -> Result.FAILED;
            };
        }

        void finish(Result r) {
            if (result.complete(r)) {
                if (timer != null) {
                    timer.cancel(false);
                }
                if (channel != null) {
                    channel.close();
                }
            }
        }

        private static int varintSize(int v) {
            int n = 1;
            while ((v >>>= 7) != 0) {
                n++;
            }
            return n;
        }

        private static void writeVarint(ByteBuf b, int v) {
            while ((v & ~0x7f) != 0) {
                b.writeByte((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            b.writeByte(v);
        }
    }
}
