package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkedScannerTest {
    private static ByteBuf buf(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    @Test
    void findsEndAndLeavesTheNextMessage() {
        String body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer-A: x\r\n\r\n";
        ByteBuf b = buf(body + "GET / HTTP/1.1\r\n");
        ChunkedScanner s = new ChunkedScanner();
        s.reset(1000);
        assertEquals(body.length(), s.scan(b, 0, b.writerIndex()));
        assertTrue(s.done());
    }

    @Test
    void sameResultByteByByte() {
        String body = "a\r\n0123456789\r\n0\r\n\r\n";
        ByteBuf b = buf(body);
        ChunkedScanner s = new ChunkedScanner();
        s.reset(1000);
        int at = 0;
        for (int i = 1; i <= body.length(); i++) {
            at = s.scan(b, at, i);
            assertEquals(i, at);
        }
        assertTrue(s.done());
    }

    @Test
    void rejectsBadFraming() {
        String[] bad = {"g\r\n", "\r\n", "5\r\nhelloX\r\n", "5\nhello", "5\r\nhello\r\n0\r\nX\n", "1234567890abcdef0\r\n",
            "5\r\nhello\r\n0\r\n\r\r", "5;\u0001\r\n"};
        for (String s : bad) {
            ChunkedScanner c = new ChunkedScanner();
            c.reset(1 << 30);
            ByteBuf b = buf(s);
            assertEquals(ChunkedScanner.ERROR, c.scan(b, 0, b.writerIndex()), s.replace("\r", "\\r").replace("\n", "\\n"));
        }
    }

    @Test
    void enforcesBodyLimit() {
        ChunkedScanner c = new ChunkedScanner();
        c.reset(10);
        ByteBuf b = buf("8\r\n12345678\r\n8\r\n");
        assertEquals(ChunkedScanner.TOO_LARGE, c.scan(b, 0, b.writerIndex()));
        assertFalse(c.done());
    }
}
