package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResponseHeadTest {
    private static int parse(String raw, ResponseHead h) {
        ByteBuf b = Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1);
        int end = MessageHead.findEnd(b, 0, 0, b.writerIndex(), 1000, 1000);
        return end < 0 ? -end : h.parse(b, 0, end);
    }

    @Test
    void framing() {
        ResponseHead h = new ResponseHead(16);
        assertEquals(0, parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", h));
        assertEquals(200, h.status);
        assertEquals(5, h.contentLength);
        assertTrue(h.keepAlive());
        assertTrue(h.hasBody(false));
        assertFalse(h.hasBody(true));

        assertEquals(0, parse("HTTP/1.1 204 No Content\r\n\r\n", h));
        assertFalse(h.hasBody(false));
        assertEquals(0, parse("HTTP/1.0 200 OK\r\n\r\n", h));
        assertTrue(h.delimitedByClose());
        assertFalse(h.keepAlive());
        assertEquals(0, parse("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n", h));
        assertTrue(h.chunked);
    }

    @Test
    void malformedIsBadGateway() {
        ResponseHead h = new ResponseHead(16);
        assertEquals(502, parse("HTTP/1.1 20 OK\r\n\r\n", h));
        assertEquals(502, parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", h));
        assertEquals(502, parse("ICY 200 OK\r\n\r\n", h));
        assertEquals(502, parse("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", h));
    }
}
