package io.sluice.nictuning.rss;

import static io.sluice.nictuning.rss.RssTestSupport.high;
import static io.sluice.nictuning.rss.RssTestSupport.ipv4;
import static io.sluice.nictuning.rss.RssTestSupport.low;
import static io.sluice.nictuning.rss.RssTestSupport.referenceHash;
import static io.sluice.nictuning.rss.RssTestSupport.tuple;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ToeplitzHashTest {

    @Test
    void microsoftVectorsIpv4() throws Exception {
        RssTestSupport.Vectors v = RssTestSupport.readVectors();
        assertArrayEquals(ToeplitzHash.microsoftKey(), v.key(), "the built-in key is the suite's key");
        ToeplitzHash hash = new ToeplitzHash(v.key());
        int checked = 0;
        for (RssTestSupport.Vector t : v.vectors()) {
            if (!t.family().equals("ipv4")) {
                continue;
            }
            int src = ipv4(t.src());
            int dst = ipv4(t.dst());
            assertEquals(t.hashIp(), hash.hashIpv4(src, dst), "IPv4 hash of " + t);
            assertEquals(t.hashIpTcp(), hash.hashIpv4(src, dst, t.srcPort(), t.dstPort()), "TCP/IPv4 hash of " + t);
            byte[] in = tuple(t.src(), t.dst(), t.srcPort(), t.dstPort());
            assertEquals(t.hashIpTcp(), hash.hash(in, 0, in.length));
            assertEquals(t.hashIp(), hash.hash(in, 0, 8));
            checked++;
        }
        assertEquals(5, checked, "the suite has five IPv4 vectors");
    }

    @Test
    void microsoftVectorsIpv6() throws Exception {
        RssTestSupport.Vectors v = RssTestSupport.readVectors();
        ToeplitzHash hash = new ToeplitzHash(v.key());
        int checked = 0;
        for (RssTestSupport.Vector t : v.vectors()) {
            if (!t.family().equals("ipv6")) {
                continue;
            }
            byte[] s = t.src();
            byte[] d = t.dst();
            assertEquals(t.hashIp(), hash.hashIpv6(high(s), low(s), high(d), low(d)), "IPv6 hash of " + t);
            assertEquals(t.hashIpTcp(), hash.hashIpv6(high(s), low(s), high(d), low(d), t.srcPort(), t.dstPort()),
                    "TCP/IPv6 hash of " + t);
            byte[] in = tuple(s, d, t.srcPort(), t.dstPort());
            assertEquals(t.hashIpTcp(), hash.hash(in, 0, in.length));
            checked++;
        }
        assertEquals(3, checked, "the suite has three IPv6 vectors");
    }

    @Test
    void referenceImplementationAgreesWithVectors() throws Exception {
        // Guards the reference used by the random tests below.
        RssTestSupport.Vectors v = RssTestSupport.readVectors();
        for (RssTestSupport.Vector t : v.vectors()) {
            assertEquals(t.hashIpTcp(), referenceHash(v.key(), tuple(t.src(), t.dst(), t.srcPort(), t.dstPort())));
        }
    }

    @Test
    void tableDrivenEqualsBitwiseOnRandomKeysAndTuples() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int round = 0; round < 200; round++) {
            byte[] key = new byte[round % 2 == 0 ? 40 : 52];
            rnd.nextBytes(key);
            ToeplitzHash hash = new ToeplitzHash(key);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            int sp = rnd.nextInt(65536);
            int dp = rnd.nextInt(65536);
            byte[] in4 = tuple(RssTestSupport.ipv4Bytes(src), RssTestSupport.ipv4Bytes(dst), sp, dp);
            assertEquals(referenceHash(key, in4), hash.hashIpv4(src, dst, sp, dp));
            assertEquals(referenceHash(key, Arrays.copyOf(in4, 8)), hash.hashIpv4(src, dst));
            long sh = rnd.nextLong();
            long sl = rnd.nextLong();
            long dh = rnd.nextLong();
            long dl = rnd.nextLong();
            byte[] in6 = tuple(RssTestSupport.ipv6Bytes(sh, sl), RssTestSupport.ipv6Bytes(dh, dl), sp, dp);
            assertEquals(referenceHash(key, in6), hash.hashIpv6(sh, sl, dh, dl, sp, dp));
            assertEquals(referenceHash(key, Arrays.copyOf(in6, 32)), hash.hashIpv6(sh, sl, dh, dl));
        }
    }

    @Test
    void hashIsLinearOverGf2() {
        SplittableRandom rnd = new SplittableRandom(7);
        byte[] key = new byte[40];
        rnd.nextBytes(key);
        ToeplitzHash h = new ToeplitzHash(key);
        assertEquals(0, h.hashIpv4(0, 0, 0, 0));
        for (int i = 0; i < 1000; i++) {
            int a1 = rnd.nextInt();
            int a2 = rnd.nextInt();
            int b1 = rnd.nextInt();
            int b2 = rnd.nextInt();
            int p1 = rnd.nextInt(65536);
            int p2 = rnd.nextInt(65536);
            assertEquals(h.hashIpv4(a1, b1, p1, p2) ^ h.hashIpv4(a2, b2, p2, p1),
                    h.hashIpv4(a1 ^ a2, b1 ^ b2, p1 ^ p2, p2 ^ p1));
        }
    }

    @Test
    void portsUseOnlyTheirLow16Bits() {
        ToeplitzHash h = new ToeplitzHash(ToeplitzHash.microsoftKey());
        assertEquals(h.hashIpv4(1, 2, 80, 443), h.hashIpv4(1, 2, 0x10050, 0x301bb));
    }

    @Test
    void keyIsCopiedAndValidated() {
        byte[] key = ToeplitzHash.microsoftKey();
        ToeplitzHash h = new ToeplitzHash(key);
        int before = h.hashIpv4(0x0a000001, 0x0a000002, 1000, 80);
        key[0] ^= 0x55;
        assertEquals(before, h.hashIpv4(0x0a000001, 0x0a000002, 1000, 80), "changing the caller's array has no effect");
        assertArrayEquals(ToeplitzHash.microsoftKey(), h.key());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ToeplitzHash(new byte[39]));
        assertTrue(e.getMessage().contains("40"));
        assertThrows(IllegalArgumentException.class, () -> h.hash(new byte[37], 0, 37));
        assertThrows(IndexOutOfBoundsException.class, () -> h.hash(new byte[8], 4, 8));
    }
}
