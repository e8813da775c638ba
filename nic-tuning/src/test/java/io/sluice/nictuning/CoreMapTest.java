package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.nictuning.rss.RssSourcePortSolver;
import io.sluice.nictuning.rss.RssTable;
import io.sluice.nictuning.rss.ToeplitzHash;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoreMapTest {
    private static CoreMap sample() {
        int[] table = new int[128];
        for (int i = 0; i < table.length; i++) {
            table[i] = i % 4;
        }
        return new CoreMap("ens1f0np0", "mlx5_core", 1, CoreMap.Steering.RSS, false,
                List.of(new CoreMap.Shard(0, 8, 0), new CoreMap.Shard(1, 9, 1), new CoreMap.Shard(2, 10, 2),
                        new CoreMap.Shard(3, 11, 3)), ToeplitzHash.microsoftKey(), table);
    }

    @Test
    void writesAndReadsBack(@TempDir Path dir) throws IOException {
        CoreMap cm = sample();
        Path file = dir.resolve("etc/sluice/coremap.json");
        cm.write(file);
        CoreMap back = CoreMap.read(file);
        assertEquals(cm, back);
        assertEquals("ens1f0np0", back.nic());
        assertEquals(4, back.shardCount());
        assertArrayEquals(new int[] {8, 9, 10, 11}, back.cpus());
        assertEquals(2, back.shardOfCpu(10));
        assertEquals(-1, back.shardOfCpu(0));
        assertEquals(3, back.shardOfQueue(3));
        assertEquals(-1, back.shardOfQueue(4));
        assertTrue(Files.readString(file).contains("\"key\": \"6d5a56da255b0ec2"));
        try (var s = Files.list(file.getParent())) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
    }

    @Test
    void readsAHandWrittenDocument() {
        CoreMap cm = CoreMap.parse("""
                {"format": "sluice-coremap", "version": 1, "nic": "va", "driver": "veth", "numaNode": -1,
                 "steering": "rps", "shards": [{"shard": 0, "cpu": 1, "queue": 0}, {"shard": 1, "cpu": 0, "queue": 1}],
                 "rss": null}
                """);
        assertEquals(CoreMap.Steering.RPS, cm.steering());
        assertFalse(cm.hasRss());
        assertFalse(cm.smt(), "smt defaults to false");
        assertArrayEquals(new int[] {1, 0}, cm.cpus());
        assertThrows(IllegalStateException.class, () -> cm.sourcePortSolver(0));
    }

    @Test
    void rejectsInvalidMaps() {
        String ok = sample().toJson();
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("sluice-coremap", "other")));
        IllegalArgumentException v = assertThrows(IllegalArgumentException.class,
                () -> CoreMap.parse(ok.replace("\"version\": 1", "\"version\": 2")));
        assertTrue(v.getMessage().contains("version 2"));
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("\"cpu\": 9", "\"cpu\": 8")));
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("\"shard\": 1", "\"shard\": 5")));
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("\"steering\": \"rss\"",
                "\"steering\": \"magic\"")));
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("6d5a56da", "6d5a56")));
        assertThrows(IllegalArgumentException.class, () -> CoreMap.parse(ok.replace("6d5a56da", "zz5a56da")));
        assertThrows(IllegalArgumentException.class, () -> new CoreMap("x", "y", 0, CoreMap.Steering.RSS, false,
                List.of(new CoreMap.Shard(0, 0, 0)), ToeplitzHash.microsoftKey(), new int[96]));
        assertThrows(IllegalArgumentException.class, () -> new CoreMap("x", "y", 0, CoreMap.Steering.RSS, false,
                List.of(), new byte[0], new int[0]));
        assertThrows(IllegalArgumentException.class, () -> new CoreMap("x", "y", 0, CoreMap.Steering.RSS, false,
                List.of(new CoreMap.Shard(0, 0, 0)), ToeplitzHash.microsoftKey(), new int[0]));
    }

    @Test
    void readReportsTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("coremap.json");
        Files.writeString(file, "{\"format\": \"sluice-coremap\", \"version\": 1}");
        IOException e = assertThrows(IOException.class, () -> CoreMap.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void solverAndTableComeFromTheMap() {
        CoreMap cm = sample();
        RssTable table = cm.rssTable();
        for (int shard = 0; shard < cm.shardCount(); shard++) {
            RssSourcePortSolver solver = cm.sourcePortSolver(shard);
            solver.startIpv4(0xc6336401, 0x0a000002, 443, 32768, 60999);
            for (int i = 0; i < 50; i++) {
                int port = solver.nextPort();
                assertTrue(port >= 32768 && port <= 60999);
                assertEquals(cm.shard(shard).queue(), table.queueForIpv4(0xc6336401, 0x0a000002, 443, port));
                assertEquals(shard, cm.shardOfQueue(table.queueForIpv4(0xc6336401, 0x0a000002, 443, port)));
            }
        }
    }
}
