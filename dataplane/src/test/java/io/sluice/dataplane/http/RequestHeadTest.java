package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestHeadTest {
    private static final int MAX_LINE = 100;
    private static final int MAX_HEAD = 400;

    /** Finds the head end then parses; returns the status the proxy would answer (0 = OK). */
    static int status(String raw, RequestHead head) {
        ByteBuf b = Unpooled.wrappedBuffer(raw.getBytes(StandardCharsets.ISO_8859_1)); // heap: the parser works on any ByteBuf
        int end = MessageHead.findEnd(b, 0, 0, b.writerIndex(), MAX_LINE, MAX_HEAD);
        if (end == HttpStatus.NEED_MORE) {
            return -1;
        }
        if (end < 0) {
            return -end;
        }
        int st = head.parse(b, 0, end);
        if (st == HttpStatus.OK && head.requestLineEnd - 2 > MAX_LINE) {
            return 414;
        }
        return st;
    }

    static String text(RequestHead h, int s, int e) {
        return h.buf.toString(s, e - s, StandardCharsets.US_ASCII);
    }

    @Test
    void parsesOriginFormWithHeaders() {
        RequestHead h = new RequestHead(32);
        assertEquals(0, status("GET /a/b?x=1 HTTP/1.1\r\nHost: Shop.Example.com:8080\r\nX-A:  v  \r\n"
            + "Content-Length: 0\r\n\r\n", h));
        assertEquals(RequestHead.M_GET, h.method);
        assertEquals("/a/b?x=1", text(h, h.targetStart, h.targetEnd));
        assertEquals("/a/b", text(h, h.pathStart, h.pathEnd));
        assertEquals("Shop.Example.com:8080", text(h, h.hostStart, h.hostEnd));
        assertEquals("Shop.Example.com", text(h, h.hostStart, h.hostNameEnd()));
        assertEquals(3, h.headerCount);
        assertEquals("v", text(h, h.valueStart[1], h.valueEnd[1]));
        assertEquals(HeaderId.HOST, h.ids[0]);
        assertEquals(0, h.contentLength);
        assertTrue(h.keepAlive());
        assertEquals(11, h.version);
    }

    @Test
    void absoluteFormAuthorityReplacesHost() {
        RequestHead h = new RequestHead(32);
        assertEquals(0, status("GET http://api.example.com/v1?q HTTP/1.1\r\nHost: other\r\n\r\n", h));
        assertEquals("api.example.com", text(h, h.hostStart, h.hostEnd));
        assertEquals("/v1", text(h, h.pathStart, h.pathEnd));
    }

    @Test
    void connectionTokensAndKeepAlive() {
        RequestHead h = new RequestHead(32);
        assertEquals(0, status("GET / HTTP/1.0\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nA: b\r\n\r\n", h));
        assertTrue(h.keepAlive());
        assertTrue(h.namedByConnection(1));
        assertFalse(h.namedByConnection(2));
        assertEquals(0, status("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", h));
        assertFalse(h.keepAlive());
        assertEquals(0, status("GET / HTTP/1.0\r\n\r\n", h));
        assertFalse(h.keepAlive());
        assertEquals(-1, h.hostStart);
    }

    @Test
    void chunkedAndUpgradeAndExpect() {
        RequestHead h = new RequestHead(32);
        assertEquals(0, status("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n"
            + "Expect: 100-continue\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", h));
        assertTrue(h.chunked);
        assertTrue(h.expectContinue);
        assertTrue(h.connectionUpgrade);
        assertEquals(4, h.upgradeHeader);
    }

    @Test
    void incompleteHeadNeedsMore() {
        assertEquals(-1, status("GET / HTTP/1.1\r\nHost: a\r\n", new RequestHead(8)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "CL and TE together|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n|400",
        "differing Content-Length|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3\\r\\nContent-Length: 4\\r\\n\\r\\n|400",
        "same Content-Length twice is fine|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3\\r\\nContent-Length: 3\\r\\n\\r\\n|0",
        "Content-Length list|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3, 3\\r\\n\\r\\n|400",
        "negative Content-Length|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: -1\\r\\n\\r\\n|400",
        "huge Content-Length|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 99999999999999999999\\r\\n\\r\\n|400",
        "TE gzip only|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n|400",
        "TE gzip then chunked|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n|501",
        "TE chunked twice|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked, chunked\\r\\n\\r\\n|400",
        "TE chunked then another line|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n|400",
        "TE in HTTP/1.0|POST / HTTP/1.0\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n|400",
        "bare LF line end|GET / HTTP/1.1\\nHost: a\\r\\n\\r\\n|400",
        "bare CR in value|GET / HTTP/1.1\\r\\nHost: a\\r\\nX: a\\rb\\r\\n\\r\\n|400",
        "obs-fold|GET / HTTP/1.1\\r\\nHost: a\\r\\nX: a\\r\\n b\\r\\n\\r\\n|400",
        "space before colon|GET / HTTP/1.1\\r\\nHost : a\\r\\n\\r\\n|400",
        "empty header name|GET / HTTP/1.1\\r\\n: a\\r\\nHost: a\\r\\n\\r\\n|400",
        "NUL in value|GET / HTTP/1.1\\r\\nHost: a\\r\\nX: a\\u0000b\\r\\n\\r\\n|400",
        "missing Host in 1.1|GET / HTTP/1.1\\r\\nX: y\\r\\n\\r\\n|400",
        "two Host lines|GET / HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n|400",
        "Host with userinfo|GET / HTTP/1.1\\r\\nHost: u@a\\r\\n\\r\\n|400",
        "Host with bad port|GET / HTTP/1.1\\r\\nHost: a:80x\\r\\n\\r\\n|400",
        "HTTP/2.0 request line|GET / HTTP/2.0\\r\\nHost: a\\r\\n\\r\\n|505",
        "HTTP/1.2|GET / HTTP/1.2\\r\\nHost: a\\r\\n\\r\\n|505",
        "lowercase version|GET / http/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "two spaces|GET  / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "no target|GET HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "relative target|GET a/b HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "fragment in target|GET /a#b HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "non-ASCII target|GET /\\u00e9 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "dot-dot segment|GET /public/../admin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "trailing dot-dot|GET /a/.. HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "dot segment|GET /a/./b HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "dotted file name is fine|GET /a/.well-known/x..y HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|0",
        "CONNECT|CONNECT a:443 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|405",
        "asterisk with OPTIONS|OPTIONS * HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|0",
        "asterisk with GET|GET * HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "bad method token|G(T / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|400",
        "request line too long|GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n|414",
        "bad Connection token|GET / HTTP/1.1\\r\\nHost: a\\r\\nConnection: a b\\r\\n\\r\\n|400",
    })
    void rejectsOrAccepts(String name, String raw, int expected) {
        String unescaped = raw.replace("\\r", "\r").replace("\\n", "\n").replace("\\u0000", "\u0000")
            .replace("\\u00e9", "\u00e9");
        assertEquals(expected, status(unescaped, new RequestHead(8)), name);
    }

    @Test
    void headTooLarge() {
        String big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + "a".repeat(MAX_HEAD) + "\r\n\r\n";
        assertEquals(431, status(big, new RequestHead(8)));
        // and while still incomplete: no need to wait for the end to know
        assertEquals(431, status("GET / HTTP/1.1\r\nHost: a\r\nX: " + "a".repeat(MAX_HEAD), new RequestHead(8)));
    }

    @Test
    void tooManyHeaders() {
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 8; i++) {
            sb.append("X").append(i).append(": v\r\n");
        }
        assertEquals(431, status(sb.append("\r\n").toString(), new RequestHead(8)));
    }

    @Test
    void headFoundAcrossResumedScans() {
        ByteBuf b = Unpooled.buffer();
        byte[] all = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        int from = 0;
        for (int i = 0; i < all.length; i++) {
            b.writeByte(all[i]);
            int end = MessageHead.findEnd(b, 0, from, b.writerIndex(), 100, 400);
            if (i < all.length - 1) {
                assertEquals(HttpStatus.NEED_MORE, end, "byte " + i);
                from = Math.max(0, b.writerIndex() - 3);
            } else {
                assertEquals(all.length, end);
            }
        }
    }
}
