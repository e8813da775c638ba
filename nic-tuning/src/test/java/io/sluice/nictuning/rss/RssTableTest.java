package io.sluice.nictuning.rss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class RssTableTest {
    @Test
    void looksUpTheLowBitsOfTheHash() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = new int[64];
        for (int i = 0; i < 64; i++) {
            indirection[i] = 63 - i;
        }
        RssTable table = new RssTable(hash, indirection);
        // 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178 (Microsoft suite); 0x78 & 63 = 56.
        int src = (66 << 24) | (9 << 16) | (149 << 8) | 187;
        int dst = (161 << 24) | (142 << 16) | (100 << 8) | 80;
        assertEquals(63 - 56, table.queueForIpv4(src, dst, 2794, 1766));
        assertEquals(63 - 56, table.queueForHash(0x51ccc178));
        assertEquals(64, table.size());
        int[] copy = table.indirection();
        copy[0] = 99;
        assertArrayEquals(indirection, table.indirection());
    }

    @Test
    void rejectsBadTables() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        assertThrows(IllegalArgumentException.class, () -> new RssTable(hash, new int[0]));
        assertThrows(IllegalArgumentException.class, () -> new RssTable(hash, new int[96]));
        assertThrows(IllegalArgumentException.class, () -> new RssTable(hash, new int[] {0, -1}));
    }
}
