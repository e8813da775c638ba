package io.sluice.dataplane.l4;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Maglev table: balance, determinism, and the disruption when a backend goes (Eisenbud et al., section 3.4). */
class MaglevTest {
    static String[] names(int n) {
        String[] s = new String[n];
        for (int i = 0; i < n; i++) {
            s[i] = "10.0." + (i / 200) + "." + (i % 200 + 1) + ":8080";
        }
        return s;
    }

    @Test
    void everyBackendGetsItsShareWithinOneSlot() {
        for (int n : new int[] {1, 2, 3, 7, 10, 100, 600}) {
            Maglev m = Maglev.build(names(n), null, 65537);
            int[] slots = m.slotsPerBackend(n);
            int min = Arrays.stream(slots).min().orElseThrow();
            int max = Arrays.stream(slots).max().orElseThrow();
            assertTrue(max - min <= 1, n + " backends: " + min + ".." + max);
            assertEquals(65537, Arrays.stream(slots).sum());
        }
    }

    @Test
    void weightsScaleTheShare() {
        Maglev m = Maglev.build(names(3), new int[] {1, 2, 1}, 65537);
        int[] slots = m.slotsPerBackend(3);
        assertEquals(0.5, slots[1] / 65537.0, 0.01);
    }

    @Test
    void sameBackendsSameTableOnEveryNode() {
        Maglev a = Maglev.build(names(50), null, 65537);
        Maglev b = Maglev.build(names(50), null, 65537);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 100_000; i++) {
            long h = r.nextLong();
            assertEquals(a.lookup(h), b.lookup(h));
        }
    }

    @Test
    void removingOneOfNMovesAboutOneNthOfFlows() {
        for (int n : new int[] {5, 10, 50}) {
            String[] all = names(n);
            int gone = n / 2;
            String[] rest = new String[n - 1];
            for (int i = 0, j = 0; i < n; i++) {
                if (i != gone) {
                    rest[j++] = all[i];
                }
            }
            Maglev before = Maglev.build(all, null, 65537);
            Maglev after = Maglev.build(rest, null, 65537);
            int flows = 100_000;
            int moved = 0;
            int movedOthers = 0;
            int ofGone = 0;
            SplittableRandom r = new SplittableRandom(n);
            for (int i = 0; i < flows; i++) {
                long h = FlowHash.flow(r.nextInt(), r.nextInt(65536), 443, false);
                String b = all[before.lookup(h)];
                String a = rest[after.lookup(h)];
                if (b.equals(all[gone])) {
                    ofGone++;
                }
                if (!a.equals(b)) {
                    moved++;
                    if (!b.equals(all[gone])) {
                        movedOthers++;
                    }
                }
            }
            double share = moved / (double) flows;
            double others = movedOthers / (double) flows;
            System.out.printf("maglev disruption: N=%d, removed 1: moved %.4f of flows (1/N = %.4f), "
                + "flows of the other backends moved: %.4f%n", n, share, 1.0 / n, others);
            assertEquals(ofGone, moved - movedOthers, "every flow of the removed backend moved");
            assertEquals(1.0 / n, share, 0.35 / n, "moved share close to 1/N");
            // The paper (figure 12) reports a small share of other backends' slots changing owner; with M = 65537
            // and N <= 50 it stays within a few per cent of all flows.
            assertTrue(others < 0.03, "other backends' flows moved: " + others);
        }
    }

    @Test
    void specPicksOnlyActiveEndpointsAndRetriesTheOthers() {
        List<Endpoint> eps = new ArrayList<>();
        eps.add(new Endpoint("127.0.0.1", 1001, 1, false));
        eps.add(new Endpoint("127.0.0.1", 1002, 1, true));
        eps.add(new Endpoint("127.0.0.1", 1003, 1, false));
        L4ServiceSpec s = new L4ServiceSpec(new L4Service("ns/a:x", L4Service.Protocol.TCP, 9999, eps), 251);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 1000; i++) {
            assertNotEquals(1002, s.pick(r.nextLong()).address.getPort());
        }
        L4Endpoint first = s.pick(7);
        L4Endpoint second = s.next(first, new L4Endpoint[] {first}, 1);
        assertNotNull(second);
        assertNotEquals(first.key, second.key);
        assertNull(s.next(second, new L4Endpoint[] {first, second}, 2));
        assertNull(new L4ServiceSpec(new L4Service("ns/b:x", L4Service.Protocol.UDP, 9998, List.of()), 251).pick(1));
    }
}
