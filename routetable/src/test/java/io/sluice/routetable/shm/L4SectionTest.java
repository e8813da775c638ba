package io.sluice.routetable.shm;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;
import io.sluice.routetable.L4Service.Protocol;
import io.sluice.routetable.RouteTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The L4 section (index 3) of the image: round trip, reuse when unchanged, checksums, table validation. */
class L4SectionTest {
    @TempDir
    Path dir;

    static List<L4Service> services(int seed) {
        List<L4Service> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            List<Endpoint> eps = new ArrayList<>();
            for (int j = 0; j < 1 + (i + seed) % 4; j++) {
                eps.add(new Endpoint("10.1." + i + "." + (j + seed), 7000 + j, 1, j == 2));
            }
            Protocol p = i % 2 == 0 ? Protocol.TCP : Protocol.UDP;
            out.add(new L4Service("ns/svc-" + i + ":p" + i, p, 9000 + i, eps, i == 0 ? 10800 : 0,
                p == Protocol.TCP && i == 2, i == 4 ? 251 : 0));
        }
        return out;
    }

    static RouteTable table(long gen, int l4Seed) {
        return Tables.forGeneration(gen).withL4(services(l4Seed));
    }

    @Test
    void roundTrips() throws Exception {
        RouteTable t = table(3, 1);
        assertEquals(t, RouteTableImage.decode(RouteTableImage.encode(t)));
        RouteTable none = Tables.forGeneration(4);
        assertEquals(List.of(), RouteTableImage.decode(RouteTableImage.encode(none)).l4());
        RouteTable onlyL4 = RouteTable.empty(5).withL4(services(2));
        assertEquals(onlyL4, RouteTableImage.decode(RouteTableImage.encode(onlyL4)));
    }

    @Test
    void unchangedL4SectionKeepsItsVersionAndIsNotDecodedAgain() throws Exception {
        RouteTableEncoder enc = new RouteTableEncoder();
        RouteTableDecoder dec = new RouteTableDecoder();
        byte[] i1 = enc.encodeToArray(table(1, 1));
        RouteTable d1 = dec.decode(i1, 0, i1.length);
        byte[] i2 = enc.encodeToArray(table(2, 1)); // equal services, built anew
        assertEquals(1, sectionVersion(i2, RouteTableImage.L4), "version = generation it last changed in");
        RouteTable d2 = dec.decode(i2, 0, i2.length);
        assertSame(d1.l4(), d2.l4(), "decoded L4 list is shared");
        byte[] i3 = enc.encodeToArray(table(3, 2));
        assertEquals(3, sectionVersion(i3, RouteTableImage.L4));
        RouteTable d3 = dec.decode(i3, 0, i3.length);
        assertEquals(services(2), d3.l4());
    }

    @Test
    void damageInTheL4SectionIsRejected() {
        byte[] image = RouteTableImage.encode(table(1, 1));
        int off = RouteTableImage.getIntLE(image, RouteTableImage.sectionEntry(RouteTableImage.L4) + 8);
        int len = RouteTableImage.getIntLE(image, RouteTableImage.sectionEntry(RouteTableImage.L4) + 12);
        assertTrue(len > 10);
        for (int i = off; i < off + len; i++) {
            byte[] bad = image.clone();
            bad[i] ^= 0x04;
            CorruptRouteTableException e = assertThrows(CorruptRouteTableException.class,
                () -> RouteTableImage.decode(bad));
            assertTrue(e.getMessage().startsWith("L4 section"), e.getMessage());
        }
    }

    @Test
    void tableRefusesTwoServicesOnOneListenPort() {
        L4Service a = new L4Service("a/x:1", Protocol.TCP, 5000, List.of());
        L4Service b = new L4Service("b/y:1", Protocol.TCP, 5000, List.of());
        L4Service c = new L4Service("c/z:1", Protocol.UDP, 5000, List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> RouteTable.empty(1).withL4(List.of(a, b)));
        assertTrue(e.getMessage().contains("tcp/5000"), e.getMessage());
        assertEquals(2, RouteTable.empty(1).withL4(List.of(a, c)).l4().size(), "TCP and UDP may share a port");
        assertThrows(IllegalArgumentException.class,
            () -> new L4Service("a/x:1", Protocol.TCP, 5000, List.of(), 0, false, 65536));
        assertThrows(IllegalArgumentException.class,
            () -> new L4Service("a/x:1", Protocol.UDP, 5000, List.of(), 0, true, 0));
    }

    @Test
    void travelsThroughTheSharedFile() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            RouteTable t1 = table(1, 1);
            w.publish(t1);
            assertEquals(t1, r.poll());
            RouteTable t2 = table(2, 3);
            w.publish(t2);
            assertEquals(t2.l4(), r.poll().l4());
        }
    }

    private static long sectionVersion(byte[] image, int section) {
        return RouteTableImage.getLongLE(image, RouteTableImage.sectionEntry(section));
    }
}
