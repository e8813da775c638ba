package io.sluice.perf.loadgen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TlsLoadOptionsTest {

    @Test
    void defaultsAreFullTls13HandshakesWithTheUrlsNameAsSni() {
        TlsLoadOptions o = TlsLoadOptions.parse(new String[] {"https://localhost:8443/x"});
        assertFalse(o.resumed());
        assertEquals("TLSv1.3", o.protocol());
        assertEquals("localhost", o.sni());
        assertEquals("localhost", o.hostHeader());
        assertEquals(32, o.connections());
        assertEquals(8443, o.port());
        assertEquals("/x", o.path());
        assertEquals(0.9, o.minResumedShare());
    }

    @Test
    void optionsAreParsed() {
        TlsLoadOptions o = TlsLoadOptions.parse(new String[] {"--mode", "resumed", "--tls12", "-c", "8", "-d", "3s",
            "-w", "500ms", "--sni", "bench.local", "--server-pids", "12,34", "--clk-tck", "250", "--min-resumed", "95",
            "https://127.0.0.1:23643/"});
        assertTrue(o.resumed());
        assertEquals("TLSv1.2", o.protocol());
        assertEquals("bench.local", o.sni());
        assertEquals("bench.local", o.hostHeader());
        assertArrayEquals(new int[] {12, 34}, o.serverPids());
        assertEquals(250, o.clockTicks());
        assertEquals(3_000_000_000L, o.durationNanos());
        assertEquals(500_000_000L, o.warmupNanos());
        assertEquals(0.95, o.minResumedShare(), 1e-9);
    }

    @Test
    void anAddressIsNoSniName() {
        TlsLoadOptions o = TlsLoadOptions.parse(new String[] {"https://127.0.0.1:8443/"});
        assertNull(o.sni());
        assertEquals("127.0.0.1:8443", o.hostHeader());
    }

    @Test
    void badInputIsRefusedWithAMessage() {
        assertThrows(IllegalArgumentException.class, () -> TlsLoadOptions.parse(new String[] {"http://x/"}));
        assertThrows(IllegalArgumentException.class, () -> TlsLoadOptions.parse(new String[] {"--mode", "half", "https://x/"}));
        assertThrows(IllegalArgumentException.class, () -> TlsLoadOptions.parse(new String[] {"--server-pids", "1,x", "https://x/"}));
        assertThrows(IllegalArgumentException.class, () -> TlsLoadOptions.parse(new String[] {}));
    }

    @Test
    void procStatTimesAreReadPastACommandNameWithSpacesAndParentheses() {
        String stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 1 0 100 0 0";
        assertEquals(1234 + 567, ProcessCpu.parse(stat));
        assertTrue(ProcessCpu.selfTicks() >= 0);
        assertEquals(-1, ProcessCpu.ticks(Integer.MAX_VALUE));
    }
}
