package io.sluice.perf.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.dataplane.http.HttpStatus;
import io.sluice.dataplane.http.MessageHead;
import io.sluice.dataplane.http.RequestHead;
import io.sluice.dataplane.http.ResponseHead;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The data plane's HTTP/1.1 head parsing as the proxy runs it per request: find the end of the head, then parse it
 * into the reused flyweight. Inputs sit in a pooled direct buffer, as received from the socket.
 * Run with {@code -prof gc}: the goal is 0 B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.buffer.checkAccessible=false"}) // as bin/sluice runs the data plane
public class HttpHeadBench {
    /** wrk's request, and a browser-like one with 12 headers. */
    @Param({"wrk", "browser"})
    public String request;

    private ByteBuf req;
    private ByteBuf resp;
    private final RequestHead head = new RequestHead(100);
    private final ResponseHead rhead = new ResponseHead(100);

    @Setup(Level.Trial)
    public void setUp() {
        String r = request.equals("wrk")
            ? "GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n"
            : "GET /api/v1/products/12345?currency=EUR&lang=en HTTP/1.1\r\nHost: shop.example.com\r\n"
              + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0\r\n"
              + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
              + "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
              + "Referer: https://shop.example.com/\r\nConnection: keep-alive\r\n"
              + "Cookie: session=abcdef0123456789; theme=dark; consent=1\r\nUpgrade-Insecure-Requests: 1\r\n"
              + "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nCache-Control: max-age=0\r\n\r\n";
        req = direct(r);
        resp = direct("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 22 Nov 2026 04:02:40 GMT\r\n"
            + "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n");
    }

    private static ByteBuf direct(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return PooledByteBufAllocator.DEFAULT.directBuffer(b.length).writeBytes(b);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        req.release();
        resp.release();
    }

    @Benchmark
    public int parseRequest() {
        int end = MessageHead.findEnd(req, 0, 0, req.writerIndex(), 8192, 32768);
        int st = head.parse(req, 0, end);
        return st == HttpStatus.OK ? head.pathEnd + head.headerCount : -1;
    }

    @Benchmark
    public int parseResponse() {
        int end = MessageHead.findEnd(resp, 0, 0, resp.writerIndex(), 65536, 65536);
        int st = rhead.parse(resp, 0, end);
        return st == HttpStatus.OK ? rhead.status + (int) rhead.contentLength : -1;
    }
}
