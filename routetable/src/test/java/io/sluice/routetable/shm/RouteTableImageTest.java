package io.sluice.routetable.shm;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.Backend;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.RouteTable;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteTableImageTest {

    @Test
    void roundTripsManyTables() throws Exception {
        for (int seed = 0; seed < 300; seed++) {
            RouteTable t = Tables.table(seed + 1, seed, seed * 7L, seed % 30, 1 + seed % 8);
            byte[] image = RouteTableImage.encode(t);
            assertEquals(t, RouteTableImage.decode(image), "seed " + seed);
        }
    }

    @Test
    void roundTripsEmptyTable() throws Exception {
        RouteTable t = RouteTable.empty(42);
        assertEquals(t, RouteTableImage.decode(RouteTableImage.encode(t)));
    }

    @Test
    void endpointOnlyChangeReusesRoutesOnBothSides() throws Exception {
        RouteTableEncoder enc = new RouteTableEncoder();
        RouteTableDecoder dec = new RouteTableDecoder();
        RouteTable t1 = Tables.table(1, 5, 100, 20, 5);
        byte[] i1 = enc.encodeToArray(t1);
        RouteTable d1 = dec.decode(i1, 0, i1.length);
        assertFalse(enc.lastRoutesReused());
        assertFalse(dec.lastReusedRoutes());

        // Same routes, other endpoints, built from scratch (so equal, not identical, host list).
        RouteTable t2 = Tables.table(2, 5, 200, 20, 5);
        assertNotEquals(t1.backends(), t2.backends());
        byte[] i2 = enc.encodeToArray(t2);
        assertTrue(enc.lastRoutesReused());
        RouteTable d2 = dec.decode(i2, 0, i2.length);
        assertTrue(dec.lastReusedRoutes());
        assertSame(d1.hosts(), d2.hosts(), "decoded hosts list is shared");
        assertEquals(t2, d2);

        // A route change: a fresh ROUTES section.
        RouteTable t3 = Tables.table(3, 6, 200, 20, 5);
        byte[] i3 = enc.encodeToArray(t3);
        assertFalse(enc.lastRoutesReused());
        RouteTable d3 = dec.decode(i3, 0, i3.length);
        assertFalse(dec.lastReusedRoutes());
        assertEquals(t3, d3);
    }

    @Test
    void balancerChangeIsARouteChange() {
        RouteTableEncoder enc = new RouteTableEncoder();
        List<Backend> b1 = List.of(new Backend("a", Balancer.ROUND_ROBIN, List.of(new Endpoint("10.0.0.1", 80))));
        List<Backend> b2 = List.of(new Backend("a", Balancer.WEIGHTED, List.of(new Endpoint("10.0.0.1", 80))));
        enc.encode(new RouteTable(1, List.of(), b1, 0));
        enc.encode(new RouteTable(2, List.of(), b2, 0));
        assertFalse(enc.lastRoutesReused());
        enc.encode(new RouteTable(3, List.of(), b2, 0));
        assertTrue(enc.lastRoutesReused());
    }

    @Test
    void everySingleByteFlipIsDetected() {
        RouteTable t = Tables.table(9, 3, 4, 6, 4);
        byte[] image = RouteTableImage.encode(t);
        for (int i = 0; i < image.length; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                byte[] bad = image.clone();
                bad[i] ^= (byte) (1 << bit);
                int at = i;
                assertThrows(CorruptRouteTableException.class, () -> RouteTableImage.decode(bad),
                    "flip of bit " + bit + " at byte " + at + " went unnoticed");
            }
        }
    }

    @Test
    void truncatedAndExtendedImagesAreRejected() {
        byte[] image = RouteTableImage.encode(Tables.table(9, 3, 4, 6, 4));
        for (int len = 0; len < image.length; len += 7) {
            byte[] cut = Arrays.copyOf(image, len);
            assertThrows(CorruptRouteTableException.class, () -> RouteTableImage.decode(cut), "length " + len);
        }
        byte[] longer = Arrays.copyOf(image, image.length + 1);
        assertThrows(CorruptRouteTableException.class, () -> RouteTableImage.decode(longer));
    }

    @Test
    void cachedSectionsSurviveARejectedImage() throws Exception {
        RouteTableEncoder enc = new RouteTableEncoder();
        RouteTableDecoder dec = new RouteTableDecoder();
        RouteTable t1 = Tables.table(1, 5, 100, 10, 3);
        byte[] i1 = enc.encodeToArray(t1);
        RouteTable d1 = dec.decode(i1, 0, i1.length);
        RouteTable t2 = Tables.table(2, 5, 101, 10, 3);
        byte[] i2 = enc.encodeToArray(t2);
        byte[] bad = i2.clone();
        bad[bad.length - 2] ^= 0x10; // inside ENDPOINTS
        assertThrows(CorruptRouteTableException.class, () -> dec.decode(bad, 0, bad.length));
        RouteTable d2 = dec.decode(i2, 0, i2.length);
        assertSame(d1.hosts(), d2.hosts());
        assertEquals(t2, d2);
    }

    @Test
    void imageIsCompact() {
        // 1,000 hosts, about 3,500 paths: shared strings are written once.
        RouteTable t = Tables.table(1, 1, 1, 1000, 6);
        int paths = 0;
        for (var vh : t.hosts()) {
            paths += vh.paths().size();
        }
        byte[] image = RouteTableImage.encode(t);
        assertTrue(image.length < paths * 40, image.length + " bytes for " + paths + " paths");
    }
}
