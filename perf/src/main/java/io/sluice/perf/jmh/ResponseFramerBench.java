package io.sluice.perf.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.perf.loadgen.ResponseFramer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of framing one response in the load generator: the generator must stay far cheaper per request than
 * the proxy it measures, and allocate nothing ({@code -prof gc} should show ~0 B/op).
 *
 * <p>{@code nginx} is the lab origin's response as a proxy returns it; {@code chunked} the same body with
 * chunked framing, as a proxy that streams would send it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class ResponseFramerBench {

    @Param({"nginx", "chunked"})
    public String response;

    private ByteBuf bytes;
    private final ResponseFramer framer = new ResponseFramer();

    @Setup(Level.Trial)
    public void setUp() {
        String head = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 22 Nov 2026 03:53:16 GMT\r\n"
            + "Content-Type: text/plain\r\n";
        String text = switch (response) {
            case "nginx" -> head + "Content-Length: 13\r\nConnection: keep-alive\r\n\r\nhello, world\n";
            case "chunked" -> head + "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                + "d\r\nhello, world\n\r\n0\r\n\r\n";
            default -> throw new IllegalArgumentException(response);
        };
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        bytes = Unpooled.directBuffer(b.length).writeBytes(b);
    }

    @Benchmark
    public int frame() {
        bytes.readerIndex(0);
        int r = framer.feed(bytes);
        if (r != ResponseFramer.COMPLETE) {
            throw new IllegalStateException("response not complete: " + r);
        }
        return framer.status();
    }
}
