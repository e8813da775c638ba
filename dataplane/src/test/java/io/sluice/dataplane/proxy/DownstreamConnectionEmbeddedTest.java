package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client-side handler driven byte by byte in an EmbeddedChannel: answers the proxy gives by itself. */
class DownstreamConnectionEmbeddedTest {
    private Shard shard;

    @BeforeEach
    void setUp() {
        DataPlaneConfig c = ConfigLoader.parse("""
            listeners: [{port: 8080}]
            limits: {maxRequestLineBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 100}
            backends:
              - name: empty
                endpoints: []
            routes:
              - host: known.test
                paths: [{path: /, type: Prefix, backend: empty}]
            """, 1);
        shard = Shard.unstarted(c, new CompiledTable(c.routes()));
    }

    @AfterEach
    void tearDown() {
        shard.shutdown();
    }

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new DownstreamConnection(shard, 8080));
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    private static String drain(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void headArrivingByteByByteIsParsedOnce() {
        EmbeddedChannel ch = channel();
        String req = "GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n";
        for (int i = 0; i < req.length() - 1; i++) {
            ch.writeInbound(bytes(req.substring(i, i + 1)));
            ch.runPendingTasks();
            assertEquals("", drain(ch), "nothing before the head is complete (byte " + i + ")");
        }
        ch.writeInbound(bytes(req.substring(req.length() - 1)));
        String out = drain(ch);
        assertTrue(out.startsWith("HTTP/1.1 404 Not Found\r\n"), out);
        assertTrue(ch.isActive(), "404 keeps the connection");
        ch.finishAndReleaseAll();
    }

    @Test
    void backendWithoutEndpointsIs503AndPipelinedRequestsFollowInOrder() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(bytes("GET /a HTTP/1.1\r\nHost: known.test\r\n\r\nGET /b HTTP/1.1\r\nHost: x.test\r\n\r\n"));
        String out = drain(ch);
        int first = out.indexOf("HTTP/1.1 503");
        int second = out.indexOf("HTTP/1.1 404");
        assertTrue(first == 0 && second > first, out);
        ch.finishAndReleaseAll();
    }

    @Test
    void malformedRequestGets400WithCloseAndLaterBytesAreIgnored() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(bytes("GET / HTTP/1.1\r\nHost: known.test\r\nBad Header: x\r\n\r\nGET / HTTP/1.1\r\n"));
        ch.runPendingTasks();
        String out = drain(ch);
        assertTrue(out.startsWith("HTTP/1.1 400 Bad Request\r\n"), out);
        assertTrue(out.contains("Connection: close\r\n"));
        assertEquals(1, out.split("HTTP/1.1 ").length - 1, "exactly one response");
        assertFalse(ch.isOpen(), "closed after the 400");
        assertNull(ch.readOutbound());
    }

    @Test
    void bodyOverLimitIs413BeforeAnyBodyIsRead() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(bytes("POST / HTTP/1.1\r\nHost: known.test\r\nContent-Length: 101\r\n\r\n"));
        ch.runPendingTasks();
        assertTrue(drain(ch).startsWith("HTTP/1.1 413 "));
        assertFalse(ch.isOpen());
    }

    @Test
    void requestLineAndHeaderLimits() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(bytes("GET /" + "x".repeat(80)));
        ch.runPendingTasks();
        assertTrue(drain(ch).startsWith("HTTP/1.1 414 "), "414 before the line is even complete");
        assertFalse(ch.isOpen());

        EmbeddedChannel ch2 = channel();
        ch2.writeInbound(bytes("GET / HTTP/1.1\r\nHost: known.test\r\nX: " + "y".repeat(300)));
        ch2.runPendingTasks();
        assertTrue(drain(ch2).startsWith("HTTP/1.1 431 "));
        assertFalse(ch2.isOpen());
    }

    @Test
    void counters() {
        EmbeddedChannel ch = channel();
        long before = shard.stats.rejected;
        ch.writeInbound(bytes("BAD\r\n\r\n"));
        ch.runPendingTasks();
        assertTrue(drain(ch).startsWith("HTTP/1.1 400 "));
        assertEquals(before + 1, shard.stats.rejected);
    }
}
