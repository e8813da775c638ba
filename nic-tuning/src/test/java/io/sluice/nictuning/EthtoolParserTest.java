package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EthtoolParserTest {
    @Test
    void channelsWithNaAndWithOldZeroes() {
        EthtoolParser.Channels newer = EthtoolParser.channels("""
                Channel parameters for eth0:
                Pre-set maximums:
                RX:		n/a
                TX:		n/a
                Other:		1
                Combined:	63
                Current hardware settings:
                RX:		n/a
                TX:		n/a
                Other:		1
                Combined:	8
                """);
        assertEquals(new EthtoolParser.Channels(-1, -1, 1, 63, -1, -1, 1, 8), newer);
        assertTrue(newer.usesCombined());
        assertEquals(63, newer.maxQueues());
        assertEquals(8, newer.currentQueues());
        // ethtool before 5.x printed 0 for "not available".
        EthtoolParser.Channels older = EthtoolParser.channels("""
                Channel parameters for eth0:
                Pre-set maximums:
                RX:		0
                TX:		0
                Other:		1
                Combined:	8
                Current hardware settings:
                RX:		0
                TX:		0
                Other:		1
                Combined:	4
                """);
        assertEquals(4, older.currentQueues());
        assertEquals(-1, older.maxRx());
        EthtoolParser.Channels veth = EthtoolParser.channels("""
                Channel parameters for va:
                Pre-set maximums:
                RX:		4
                TX:		4
                Other:		n/a
                Combined:	n/a
                Current hardware settings:
                RX:		2
                TX:		2
                Other:		n/a
                Combined:	n/a
                """);
        assertFalse(veth.usesCombined());
        assertEquals(4, veth.maxQueues());
        assertEquals(2, veth.currentQueues());
    }

    @Test
    void ringsFromEthtool6() {
        EthtoolParser.Rings r = EthtoolParser.rings(FixtureText.read(Fixtures.MLX5, "ens1f0np0", "g"));
        assertEquals(new EthtoolParser.Rings(8192, 8192, 1024, 1024), r);
    }

    @Test
    void coalesceSkipsUnavailableParameters() {
        Map<String, String> c = EthtoolParser.coalesce(FixtureText.read(Fixtures.MLX5, "ens1f0np0", "c"));
        assertEquals("on", c.get("adaptive-rx"));
        assertEquals("off", c.get("adaptive-tx"));
        assertEquals("8", c.get("rx-usecs"));
        assertEquals("32", c.get("tx-frames"));
        assertFalse(c.containsKey("rx-usecs-irq"));
        assertFalse(c.containsKey("stats-block-usecs"));
        Map<String, String> igb = EthtoolParser.coalesce(FixtureText.read(Fixtures.MLX5, "eno1", "c"));
        assertFalse(igb.containsKey("adaptive-rx"), "Adaptive RX: n/a is not a value");
        assertEquals("3", igb.get("rx-usecs"));
    }

    @Test
    void rssTableKeyAndFunction() {
        EthtoolParser.Rss rss = EthtoolParser.rss(FixtureText.read(Fixtures.ICE, "ens785f0", "x"));
        assertEquals(2048, rss.table().length);
        assertEquals(32, rss.rings());
        assertEquals(52, rss.key().length);
        assertEquals("toeplitz", rss.function());
        assertTrue(EthtoolParser.isEqualSpread(rss.table(), 32));
        assertFalse(EthtoolParser.isEqualSpread(rss.table(), 16));

        EthtoolParser.Rss noKey = EthtoolParser.rss("""
                RX flow hash indirection table for eth0 with 2 RX ring(s):
                    0:      0     1     0     1
                RSS hash key:
                Operation not supported
                RSS hash function:
                    toeplitz: on
                """);
        assertArrayEquals(new int[] {0, 1, 0, 1}, noKey.table());
        assertEquals(0, noKey.key().length);
    }

    @Test
    void featuresWithFixedAndRequestedMarks() {
        Map<String, EthtoolParser.Feature> f = EthtoolParser.features("""
                Features for eth0:
                rx-checksumming: on
                tcp-segmentation-offload: on
                \ttx-tcp-segmentation: on
                generic-receive-offload: off [requested on]
                large-receive-offload: off [fixed]
                """);
        assertEquals(new EthtoolParser.Feature(true, false), f.get("tcp-segmentation-offload"));
        assertEquals(new EthtoolParser.Feature(true, false), f.get("tx-tcp-segmentation"));
        assertEquals(new EthtoolParser.Feature(false, false), f.get("generic-receive-offload"));
        assertEquals(new EthtoolParser.Feature(false, true), f.get("large-receive-offload"));
        assertEquals("generic-receive-offload", EthtoolParser.featureLongName("gro"));
    }

    @Test
    void tablesDescribedAsEqualOrWeights() {
        int[] equal = new int[16];
        for (int i = 0; i < 16; i++) {
            equal[i] = i % 4;
        }
        assertEquals("equal 4", Setting.EthtoolSetting.describeTable(equal));
        int[] skewed = EthtoolParser.weightedTable(16, new int[] {2, 1, 1});
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, skewed);
        assertEquals("weight 8 4 4", Setting.EthtoolSetting.describeTable(skewed));
        assertArrayEquals(new int[] {1, 1, 2, 2}, EthtoolParser.weightedTable(4, new int[] {0, 1, 1}));
    }

    @Test
    void driverInfo() {
        Map<String, String> i = EthtoolParser.driverInfo(FixtureText.read(Fixtures.I40E, "eno1", "i"));
        assertEquals("i40e", i.get("driver"));
        assertEquals("0000:3b:00.0", i.get("bus-info"));
    }

    /** Reads a captured ethtool output of a fixture. */
    static final class FixtureText {
        static String read(String fixture, String nic, String letter) {
            try {
                return java.nio.file.Files.readString(
                        Fixtures.dir(fixture).resolve("ethtool").resolve(nic).resolve(letter + ".txt"));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
    }
}
