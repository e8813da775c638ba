package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class CpuListTest {
    @Test
    void listsRoundTrip() {
        BitSet s = CpuList.parseList("0-3, 8,10-11\n");
        assertEquals(CpuList.of(0, 1, 2, 3, 8, 10, 11), s);
        assertEquals("0-3,8,10-11", CpuList.formatList(s));
        assertTrue(CpuList.parseList("  ").isEmpty());
        assertEquals("", CpuList.formatList(new BitSet()));
        assertThrows(IllegalArgumentException.class, () -> CpuList.parseList("3-1"));
        assertThrows(IllegalArgumentException.class, () -> CpuList.parseList("a"));
    }

    @Test
    void masksAsTheKernelWritesThem() {
        assertEquals(CpuList.of(0, 8), CpuList.parseMask("00000101"));
        assertEquals(CpuList.of(32, 1), CpuList.parseMask("00000001,00000002"));
        assertEquals(new BitSet(), CpuList.parseMask("00000000,00000000"));
        assertEquals("100", CpuList.formatMask(CpuList.of(8)));
        assertEquals("1,00000000", CpuList.formatMask(CpuList.of(32)));
        assertEquals("80000000,00000000,00000001", CpuList.formatMask(CpuList.of(0, 95)));
        assertEquals("0", CpuList.formatMask(new BitSet()));
        assertEquals(CpuList.of(0, 95), CpuList.parseMask(CpuList.formatMask(CpuList.of(0, 95))));
        assertThrows(IllegalArgumentException.class, () -> CpuList.parseMask("xyz"));
    }
}
