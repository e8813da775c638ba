package io.sluice.perf.loadgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ResponseFramerTest {

    private static final String NGINX = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n"
        + "Content-Length: 13\r\nConnection: keep-alive\r\n\r\nhello, world\n";

    /** Feeds {@code text} in slices of {@code slice} bytes; returns "status/close" of each completed response. */
    private static List<String> frame(String text, int slice) {
        ResponseFramer f = new ResponseFramer();
        List<String> out = new ArrayList<>();
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < b.length; i += slice) {
            ByteBuf buf = Unpooled.wrappedBuffer(b, i, Math.min(slice, b.length - i));
            while (buf.isReadable()) {
                int r = f.feed(buf);
                if (r == ResponseFramer.COMPLETE) {
                    out.add(f.status() + (f.closeAfter() ? "/close" : ""));
                } else if (r == ResponseFramer.ERROR) {
                    out.add("error");
                    return out;
                }
            }
        }
        if (f.endOfInput()) {
            out.add(f.status() + (f.closeAfter() ? "/close" : "") + "/eof");
        }
        return out;
    }

    @ParameterizedTest(name = "slices of {0} bytes")
    @CsvSource({"1", "2", "7", "64", "4096"})
    void framesPipelinedResponsesSplitAnywhere(int slice) {
        String chunked = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        String empty = "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
        String close = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\nConnection: close\r\n\r\nbye";
        assertEquals(List.of("200", "404", "204", "200", "503/close"),
            frame(NGINX + chunked + empty + NGINX + close, slice));
    }

    @Test
    void skipsInterimResponses() {
        assertEquals(List.of("200"),
            frame("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + NGINX, 5));
    }

    @Test
    void bodyWithoutLengthEndsWithTheConnection() {
        assertEquals(List.of("200/close/eof"), frame("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome body", 3));
    }

    @Test
    void http10ClosesUnlessKeptAlive() {
        assertEquals(List.of("200/close"), frame("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100));
        assertEquals(List.of("200"),
            frame("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 100));
    }

    @Test
    void connectionTokensAreMatchedWhole() {
        assertEquals(List.of("200"), frame("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", 9));
        assertEquals(List.of("200/close"),
            frame("HTTP/1.1 200 OK\r\nConnection: upgrade, Close\r\nContent-Length: 0\r\n\r\n", 9));
    }

    @Test
    void chunkedMustBeTheLastCoding() {
        // gzip after chunked is not chunked framing; without a length the body runs to the end.
        assertEquals(List.of("200/close/eof"),
            frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz", 4));
        assertEquals(List.of("200"),
            frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n", 4));
    }

    @Test
    void toleratesBareLineFeeds() {
        assertEquals(List.of("200"), frame("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    })
    void rejectsWhatCannotBeFramed(String text) {
        List<String> out = frame(text, 3);
        assertEquals("error", out.getLast(), out.toString());
    }

    @Test
    void staysFailedUntilReset() {
        ResponseFramer f = new ResponseFramer();
        ByteBuf bad = Unpooled.copiedBuffer("HTTP/1.1 abc\r\n", StandardCharsets.US_ASCII);
        assertEquals(ResponseFramer.ERROR, f.feed(bad));
        assertTrue(f.failed());
        assertEquals(ResponseFramer.ERROR, f.feed(Unpooled.copiedBuffer(NGINX, StandardCharsets.US_ASCII)));
        f.reset();
        assertFalse(f.failed());
        assertEquals(ResponseFramer.COMPLETE, f.feed(Unpooled.copiedBuffer(NGINX, StandardCharsets.US_ASCII)));
    }
}
