package io.sluice.perf.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * What netty-codec-http2 costs per request, the part of Sluice's HTTP/2 path that is Netty's (run with
 * {@code -prof gc} to see the bytes allocated per request):
 * <ul>
 *   <li>{@code hpackDecode}: a typical request header block (7 fields, literals) decoded into Http2Headers;</li>
 *   <li>{@code serverExchange}: one whole request on a server {@link Http2ConnectionHandler} (frame parsing, HPACK,
 *   stream creation and closing, flow control) answered with headers and a 13-byte body, the way Sluice's
 *   {@code H2ServerConnection} uses the codec, inside an EmbeddedChannel (whose own queues add a little).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.buffer.checkAccessible=false", "-Dio.netty.leakDetection.level=disabled"})
public class H2CodecBench {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final AsciiString OK = AsciiString.cached("200");
    private static final byte[] BODY = "hello, world\n".getBytes(StandardCharsets.US_ASCII);

    private byte[] block;
    private DefaultHttp2HeadersDecoder decoder;
    private ByteBuf blockBuf;
    private EmbeddedChannel channel;
    private int streamId = 1;

    @Setup(Level.Trial)
    public void setUp() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x82); // :method GET
        b.write(0x86); // :scheme http
        literal(b, 4, "/api/v1/users/12345?x=1");
        literal(b, 1, "shop.example.com");
        literalNew(b, "user-agent", "h2load nghttp2/1.52.0");
        literalNew(b, "accept", "*/*");
        literalNew(b, "accept-encoding", "gzip, deflate");
        block = b.toByteArray();
        decoder = new DefaultHttp2HeadersDecoder(true);
        blockBuf = Unpooled.directBuffer(block.length).writeBytes(block);

        Http2ConnectionHandler[] h = new Http2ConnectionHandler[1];
        Http2FrameAdapter listener = new Http2FrameAdapter() {
            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int padding,
                                      boolean endOfStream) {
                Http2Headers r = new DefaultHttp2Headers(false);
                r.status(OK);
                h[0].encoder().writeHeaders(ctx, id, r, 0, false, ctx.newPromise());
                h[0].encoder().writeData(ctx, id, ctx.alloc().directBuffer(BODY.length).writeBytes(BODY), 0, true,
                    ctx.newPromise());
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int dependency,
                                      short weight, boolean exclusive, int padding, boolean endOfStream) {
                onHeadersRead(ctx, id, headers, padding, endOfStream);
            }
        };
        h[0] = new Http2ConnectionHandlerBuilder().server(true).frameListener(listener).build();
        channel = new EmbeddedChannel();
        channel.config().setAllocator(PooledByteBufAllocator.DEFAULT);
        channel.pipeline().addLast(h[0]);
        ByteBuf start = PooledByteBufAllocator.DEFAULT.directBuffer();
        start.writeBytes(PREFACE);
        start.writeBytes(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
        channel.writeInbound(start);
        drain();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        blockBuf.release();
        channel.finishAndReleaseAll();
    }

    private static void literal(ByteArrayOutputStream b, int index, String v) {
        b.write(index);
        b.write(v.length());
        b.writeBytes(v.getBytes(StandardCharsets.US_ASCII));
    }

    private static void literalNew(ByteArrayOutputStream b, String n, String v) {
        b.write(0);
        b.write(n.length());
        b.writeBytes(n.getBytes(StandardCharsets.US_ASCII));
        b.write(v.length());
        b.writeBytes(v.getBytes(StandardCharsets.US_ASCII));
    }

    private void drain() {
        Object o;
        while ((o = channel.readOutbound()) != null) {
            io.netty.util.ReferenceCountUtil.release(o);
        }
    }

    @Benchmark
    public Http2Headers hpackDecode() throws Exception {
        return decoder.decodeHeaders(1, blockBuf.duplicate());
    }

    @Benchmark
    public int serverExchange() {
        int id = streamId;
        streamId = id + 2;
        ByteBuf f = channel.alloc().directBuffer(9 + block.length + 13);
        f.writeMedium(block.length).writeByte(1).writeByte(0x5).writeInt(id); // HEADERS, END_STREAM|END_HEADERS
        f.writeBytes(block);
        // the client gives back the connection window the previous response used, as a real client does
        f.writeMedium(4).writeByte(8).writeByte(0).writeInt(0).writeInt(BODY.length);
        channel.writeInbound(f);
        channel.flushOutbound();
        drain();
        return id;
    }
}
