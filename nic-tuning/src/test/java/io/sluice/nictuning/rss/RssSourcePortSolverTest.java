package io.sluice.nictuning.rss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RssSourcePortSolverTest {

    /** Every port the solver yields for one search, failing on a duplicate. */
    private static BitSet drain(RssSourcePortSolver solver) {
        BitSet ports = new BitSet(65536);
        int p;
        while ((p = solver.nextPort()) >= 0) {
            assertFalse(ports.get(p), "port " + p + " yielded twice");
            ports.set(p);
        }
        assertEquals(-1, solver.nextPort(), "an exhausted search stays exhausted");
        return ports;
    }

    /** The ports in [min, max] whose reply flow the NIC puts on an owned queue, found by hashing each port. */
    private static BitSet bruteForceIpv4(RssTable table, BitSet owned, int remote, int local, int remotePort,
            int min, int max) {
        BitSet ports = new BitSet(65536);
        for (int port = min; port <= max; port++) {
            if (owned.get(table.queueForIpv4(remote, local, remotePort, port))) {
                ports.set(port);
            }
        }
        return ports;
    }

    private static BitSet bruteForceIpv6(RssTable table, BitSet owned, long rh, long rl, long lh, long ll,
            int remotePort, int min, int max) {
        BitSet ports = new BitSet(65536);
        for (int port = min; port <= max; port++) {
            if (owned.get(table.queueForIpv6(rh, rl, lh, ll, remotePort, port))) {
                ports.set(port);
            }
        }
        return ports;
    }

    private static int[] toArray(BitSet set) {
        return set.stream().toArray();
    }

    @Test
    void microsoftKeyEightQueuesMatchesBruteForce() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = new int[128];
        for (int i = 0; i < indirection.length; i++) {
            indirection[i] = i % 8;
        }
        RssTable table = new RssTable(hash, indirection);
        int remote = 0xc0a80a05; // 192.168.10.5, the upstream
        int local = 0x0a000001;  // 10.0.0.1, us
        for (int queue = 0; queue < 8; queue++) {
            RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, queue);
            solver.startIpv4(remote, local, 8080, 10240, 65535);
            BitSet expected = bruteForceIpv4(table, BitSet.valueOf(new long[] {1L << queue}), remote, local, 8080,
                    10240, 65535);
            BitSet got = drain(solver);
            assertEquals(expected, got, "queue " + queue);
            // An eighth of the range, give or take what the range boundaries cut.
            assertTrue(got.cardinality() > 6000 && got.cardinality() < 8000,
                    "queue " + queue + ": " + got.cardinality());
        }
    }

    @Test
    void randomKeysTablesAndOwnershipMatchBruteForce() {
        SplittableRandom rnd = new SplittableRandom(2024);
        int[] sizes = {1, 2, 4, 64, 128, 256, 512, 2048};
        for (int round = 0; round < 40; round++) {
            byte[] key = new byte[rnd.nextBoolean() ? 40 : 52];
            rnd.nextBytes(key);
            ToeplitzHash hash = new ToeplitzHash(key);
            int size = sizes[round % sizes.length];
            int queues = 1 + rnd.nextInt(16);
            int[] indirection = new int[size];
            for (int i = 0; i < size; i++) {
                indirection[i] = round % 3 == 0 ? i % queues : rnd.nextInt(queues);
            }
            RssTable table = new RssTable(hash, indirection);
            BitSet owned = new BitSet();
            int ownCount = 1 + rnd.nextInt(3);
            for (int i = 0; i < ownCount; i++) {
                owned.set(rnd.nextInt(queues));
            }
            RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, toArray(owned));
            int min = rnd.nextInt(40000);
            int max = min + rnd.nextInt(65536 - min);

            int remote = rnd.nextInt();
            int local = rnd.nextInt();
            int remotePort = rnd.nextInt(65536);
            solver.startIpv4(remote, local, remotePort, min, max);
            assertEquals(bruteForceIpv4(table, owned, remote, local, remotePort, min, max), drain(solver),
                    "IPv4 round " + round);

            long rh = rnd.nextLong();
            long rl = rnd.nextLong();
            long lh = rnd.nextLong();
            long ll = rnd.nextLong();
            solver.startIpv6(rh, rl, lh, ll, remotePort, min, max);
            assertEquals(bruteForceIpv6(table, owned, rh, rl, lh, ll, remotePort, min, max), drain(solver),
                    "IPv6 round " + round);
        }
    }

    @Test
    void shardsPartitionThePortSpace() {
        // With one queue per shard, every port lands on exactly one shard.
        SplittableRandom rnd = new SplittableRandom(5);
        byte[] key = new byte[40];
        rnd.nextBytes(key);
        ToeplitzHash hash = new ToeplitzHash(key);
        int shards = 6;
        int[] indirection = new int[256];
        for (int i = 0; i < indirection.length; i++) {
            indirection[i] = i % shards;
        }
        BitSet union = new BitSet();
        int total = 0;
        for (int s = 0; s < shards; s++) {
            RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, s);
            solver.startIpv4(0x08080808, 0xac100002, 443, 0, 65535);
            BitSet ports = drain(solver);
            total += ports.cardinality();
            union.or(ports);
        }
        assertEquals(65536, total, "no port is counted by two shards");
        assertEquals(65536, union.cardinality(), "every port belongs to some shard");
    }

    @Test
    void rankDeficientKeysStillEnumerateExactly() {
        // Key bytes 10..15 cover the IPv4 destination port's windows: with them zero the port does not change the
        // IPv4 hash (rank 0): all ports or none land on the queue. IPv6 ports sit further on and still matter.
        byte[] key = ToeplitzHash.microsoftKey();
        for (int i = 10; i < 16; i++) {
            key[i] = 0;
        }
        ToeplitzHash hash = new ToeplitzHash(key);
        int[] indirection = {0, 1, 2, 3};
        RssTable table = new RssTable(hash, indirection);
        RssSourcePortSolver s0 = new RssSourcePortSolver(hash, indirection, 0);
        assertEquals(0, s0.ipv4Rank());
        assertEquals(2, s0.ipv6Rank());
        int remote = 0x01020304;
        int local = 0x05060708;
        int queue = table.queueForIpv4(remote, local, 53, 0);
        for (int q = 0; q < 4; q++) {
            RssSourcePortSolver s = new RssSourcePortSolver(hash, indirection, q);
            s.startIpv4(remote, local, 53, 1000, 1999);
            assertEquals(q == queue ? 1000 : 0, drain(s).cardinality(), "queue " + q);
        }

        // An all-zero key hashes everything to 0: only the owner of entry 0 gets ports.
        ToeplitzHash zero = new ToeplitzHash(new byte[40]);
        RssSourcePortSolver owner = new RssSourcePortSolver(zero, indirection, 0);
        owner.startIpv6(1, 2, 3, 4, 80, 0, 65535);
        assertEquals(65536, drain(owner).cardinality());
        RssSourcePortSolver other = new RssSourcePortSolver(zero, indirection, 1);
        other.startIpv6(1, 2, 3, 4, 80, 0, 65535);
        assertEquals(-1, other.nextPort());
    }

    @Test
    void fallsBackWithMinusOne() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = {0, 1, 0, 1};
        RssSourcePortSolver notInTable = new RssSourcePortSolver(hash, indirection, 7);
        assertEquals(0, notInTable.ownedEntries());
        notInTable.startIpv4(1, 2, 3, 0, 65535);
        assertEquals(-1, notInTable.nextPort(), "a queue the table never selects yields nothing");

        RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, 1);
        assertEquals(-1, solver.nextPort(), "no search started");
        RssTable table = new RssTable(hash, indirection);
        // A one-port range: the port comes back if and only if it lands on the queue.
        for (int port = 40000; port < 40032; port++) {
            solver.startIpv4(0x0a0a0a0a, 0x0a0a0a0b, 80, port, port);
            int expected = table.queueForIpv4(0x0a0a0a0a, 0x0a0a0a0b, 80, port) == 1 ? port : -1;
            assertEquals(expected, solver.nextPort(), "port " + port);
            assertEquals(-1, solver.nextPort());
        }
        assertThrows(IllegalArgumentException.class, () -> solver.startIpv4(1, 2, 3, 5000, 4999));
        assertThrows(IllegalArgumentException.class, () -> solver.startIpv4(1, 2, 3, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> solver.startIpv4(1, 2, 3, 0, 65536));
        assertThrows(IllegalArgumentException.class, () -> new RssSourcePortSolver(hash, new int[3], 0));
    }

    @Test
    void candidatesSkipPortsInUseAndSuccessiveSearchesStartElsewhere() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = new int[128];
        for (int i = 0; i < indirection.length; i++) {
            indirection[i] = i % 4;
        }
        RssTable table = new RssTable(hash, indirection);
        RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, 2);
        BitSet inUse = new BitSet();
        // Simulate a shard opening 500 connections to one upstream: each gets a distinct, steering-correct port.
        for (int c = 0; c < 500; c++) {
            solver.startIpv4(0xc0000201, 0xc0000202, 8443, 32768, 60999);
            int port;
            do {
                port = solver.nextPort();
            } while (port >= 0 && inUse.get(port));
            assertTrue(port >= 32768 && port <= 60999, "connection " + c + " got " + port);
            assertEquals(2, table.queueForIpv4(0xc0000201, 0xc0000202, 8443, port));
            inUse.set(port);
        }
        solver.startIpv4(0xc0000201, 0xc0000202, 8443, 32768, 60999);
        int first = solver.nextPort();
        solver.startIpv4(0xc0000201, 0xc0000202, 8443, 32768, 60999);
        assertNotEquals(first, solver.nextPort(), "the next search starts at another table entry");
    }

    @Test
    void hotMethodsDoNotAllocate() {
        ToeplitzHash hash = new ToeplitzHash(ToeplitzHash.microsoftKey());
        int[] indirection = new int[256];
        for (int i = 0; i < indirection.length; i++) {
            indirection[i] = i % 8;
        }
        RssSourcePortSolver solver = new RssSourcePortSolver(hash, indirection, 3);
        RssTable table = new RssTable(hash, indirection);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        int sink = run(solver, table, hash, 1000); // load classes, settle
        long before = mx.getThreadAllocatedBytes(tid);
        sink += run(solver, table, hash, 100_000);
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        // 100,000 rounds allocating even 16 bytes each would be 1.6 MB.
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes (sink " + sink + ")");
    }

    private static int run(RssSourcePortSolver solver, RssTable table, ToeplitzHash hash, int rounds) {
        int sink = 0;
        for (int i = 0; i < rounds; i++) {
            sink += hash.hashIpv4(i, ~i, i & 0xffff, 443);
            sink += hash.hashIpv6(i, ~i, i * 31L, 7, i & 0xffff, 443);
            sink += table.queueForIpv4(i, 5, 80, i & 0xffff);
            solver.startIpv4(i, 0x0a000001, 443, 1024, 65535);
            sink += solver.nextPort();
            sink += solver.nextPort();
        }
        return sink;
    }
}
