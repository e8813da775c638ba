package io.sluice.routetable.shm;

import static io.sluice.routetable.shm.RouteTableFileDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.RouteTable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RouteTableFileTest {
    @TempDir
    Path dir;

    @Test
    void publishesAndPolls() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            assertTrue(r.isAttached());
            assertNull(r.poll(), "nothing published yet");
            RouteTable t1 = Tables.forGeneration(1);
            w.publish(t1);
            assertEquals(t1, r.poll());
            assertNull(r.poll(), "nothing new");
            assertNull(r.poll());
            assertEquals(t1, r.current());
            RouteTable t2 = Tables.forGeneration(2);
            w.publish(t2);
            assertTrue(w.lastPublishReusedRoutes());
            RouteTable p2 = r.poll();
            assertEquals(t2, p2);
            assertTrue(r.lastPollEndpointsOnly());
            assertSame(r.current(), p2);
            assertEquals(0, r.rejectedCount());
            assertNull(r.lastRejection());
            assertEquals(ProcessHandle.current().pid(), r.writerPid());
            assertEquals("OPEN", r.writerState());
            assertTrue(r.writerHeartbeatEpochMillis() > 0);
        }
    }

    @Test
    void fileIsOwnerOnly() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
            w.publish(Tables.forGeneration(1));
        }
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
            Files.getPosixFilePermissions(file));
    }

    @Test
    void rejectsGenerationsThatDoNotIncrease() throws Exception {
        try (RouteTableFileWriter w = RouteTableFileWriter.open(dir.resolve("routes"))) {
            w.publish(Tables.forGeneration(5));
            assertThrows(IllegalArgumentException.class, () -> w.publish(Tables.forGeneration(5)));
            assertThrows(IllegalArgumentException.class, () -> w.publish(Tables.forGeneration(3)));
        }
    }

    @Test
    void corruptTableIsRejectedCountedAndLastGoodStays() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            RouteTable good = Tables.forGeneration(1);
            w.publish(good);
            assertEquals(good, r.poll());

            w.publish(Tables.forGeneration(2));
            MemorySegment seg = w.segmentForTest();
            // Generation 2 changes endpoints only, so damage the ENDPOINTS section (the image's last bytes).
            long at = w.activeImageOffset() + w.lastImageLength() - 3;
            seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at,
                (byte) (seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) ^ 0x40));

            assertNull(r.poll());
            assertEquals(1, r.rejectedCount());
            assertNotNull(r.lastRejection());
            assertTrue(r.lastRejection().getMessage().contains("checksum"), r.lastRejection().getMessage());
            assertEquals(good, r.current(), "last good table stays");
            assertNull(r.poll(), "the same bad publication is not counted twice");
            assertEquals(1, r.rejectedCount());

            RouteTable next = Tables.forGeneration(3);
            w.publish(next);
            assertEquals(next, r.poll());
            assertEquals(1, r.rejectedCount());
        }
    }

    @Test
    void damagedRoutesSectionIsRejected() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            RouteTable good = Tables.forGeneration(1);
            w.publish(good);
            assertEquals(good, r.poll());
            w.publish(Tables.forGeneration(4)); // a route change
            assertFalse(w.lastPublishReusedRoutes());
            MemorySegment seg = w.segmentForTest();
            long at = w.activeImageOffset() + RouteTableImage.HEADER_LENGTH + 3;
            seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at,
                (byte) (seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) ^ 0x01));
            assertNull(r.poll());
            assertEquals(1, r.rejectedCount());
            assertTrue(r.lastRejection().getMessage().contains("ROUTES section checksum"),
                r.lastRejection().getMessage());
            assertEquals(good, r.current());
        }
    }

    @Test
    void garbageSlotDescriptorIsRejected() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            w.publish(Tables.forGeneration(1));
            assertNotNull(r.poll());
            w.publish(Tables.forGeneration(2));
            MemorySegment seg = w.segmentForTest();
            int active = seg.get(INT, ACTIVE_SLOT_OFFSET);
            // A length beyond the region's capacity: as a stray write or buggy writer could leave it.
            seg.set(INT, slotOffset(active) + SLOT_IMAGE_LENGTH_OFFSET, Integer.MAX_VALUE);
            assertNull(r.poll());
            assertEquals(1, r.rejectedCount());
            assertEquals(1, r.current().generation());
        }
    }

    @Test
    void halfWrittenSlotIsNeverRead() throws Exception {
        // A writer that died in the middle of a publication leaves its slot's seqlock odd; readers never take a
        // table from such a slot, and the next writer recovers.
        Path file = dir.resolve("routes");
        RouteTableFileWriter w = RouteTableFileWriter.open(file);
        RouteTableFileReader r = RouteTableFileReader.open(file);
        w.publish(Tables.forGeneration(1));
        assertNotNull(r.poll());
        MemorySegment seg = w.segmentForTest();
        int inactive = 1 - seg.get(INT, ACTIVE_SLOT_OFFSET);
        // Simulate: the writer was writing the inactive slot, made it active, and died with the seqlock odd and
        // the image half there.
        seg.set(LONG, slotOffset(inactive) + SLOT_SEQLOCK_OFFSET, 7);
        seg.set(INT, ACTIVE_SLOT_OFFSET, inactive);
        seg.set(LONG, PUBLISH_SEQUENCE_OFFSET, seg.get(LONG, PUBLISH_SEQUENCE_OFFSET) + 1);
        assertNull(r.poll());
        assertEquals(1, r.current().generation());
        w.close();

        try (RouteTableFileWriter w2 = RouteTableFileWriter.open(file)) {
            assertEquals(1, w2.lastPublishedGeneration());
            RouteTable t = Tables.forGeneration(2);
            w2.publish(t);
            assertEquals(t, r.poll());
        } finally {
            r.close();
        }
    }

    @Test
    void fileGrowsWhileReaderIsAttached() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file, 8192);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            RouteTable small = Tables.table(1, 1, 1, 2, 2);
            w.publish(small);
            assertEquals(small, r.poll());
            long sizeBefore = Files.size(file);
            RouteTable big = Tables.table(2, 2, 2, 800, 6);
            w.publish(big);
            assertTrue(Files.size(file) > sizeBefore);
            assertEquals(big, r.poll());
            RouteTable bigger = Tables.table(3, 3, 3, 3000, 6);
            w.publish(bigger);
            assertEquals(bigger, r.poll());
        }
    }

    @Test
    void readerAttachesWhenTheFileAppears() throws Exception {
        Path file = dir.resolve("later");
        try (RouteTableFileReader r = RouteTableFileReader.open(file)) {
            assertFalse(r.isAttached());
            assertNull(r.poll());
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                RouteTable t = Tables.forGeneration(1);
                w.publish(t);
                RouteTable got = pollUntil(r, 5_000);
                assertEquals(t, got);
            }
        }
    }

    @Test
    void restartedWriterAdoptsTheFileAndContinuesGenerations() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileReader r = RouteTableFileReader.open(file)) {
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                w.publish(Tables.forGeneration(41));
                assertNotNull(pollUntil(r, 5_000));
            }
            assertEquals("WRITER_CLOSED", r.writerState());
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                assertEquals(41, w.lastPublishedGeneration());
                assertEquals("OPEN", r.writerState());
                RouteTable t = Tables.forGeneration(w.lastPublishedGeneration() + 1);
                w.publish(t);
                assertEquals(t, r.poll());
            }
        }
    }

    @Test
    void secondWriterIsRefused() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
            IOException e = assertThrows(IOException.class, () -> RouteTableFileWriter.open(file));
            assertTrue(e.getMessage().contains("another writer"), e.getMessage());
            w.publish(Tables.forGeneration(1));
        }
    }

    @Test
    void readerFollowsAFileThatWasDeletedAndMadeAgain() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileReader r = RouteTableFileReader.open(file)) {
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                w.publish(Tables.forGeneration(100));
                assertNotNull(pollUntil(r, 5_000));
            }
            Files.delete(file);
            try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
                assertEquals(0, w.lastPublishedGeneration(), "a new file starts afresh");
                RouteTable t = Tables.forGeneration(1);
                w.publish(t);
                RouteTable got = pollUntil(r, 10_000);
                assertEquals(t, got, "generations restart in a new file");
            }
        }
    }

    @Test
    void incompatibleFileIsSupersededAndReplaced() throws Exception {
        Path file = dir.resolve("routes");
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file)) {
            w.publish(Tables.forGeneration(1));
            // Pretend the file was made by another layout version.
            w.segmentForTest().set(INT, LAYOUT_VERSION_OFFSET, 99);
        }
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            RouteTable t = Tables.forGeneration(1);
            w.publish(t);
            assertEquals(t, r.poll());
        }
    }

    @Test
    void notARouteFileIsReportedByTheReader() throws Exception {
        Path file = dir.resolve("junk");
        Files.write(file, new byte[8192]);
        try (RouteTableFileReader r = RouteTableFileReader.open(file)) {
            assertFalse(r.isAttached());
            assertEquals(1, r.rejectedCount());
            assertTrue(r.lastRejection().getMessage().contains("not a Sluice route file"));
        }
    }

    static RouteTable pollUntil(RouteTableFileReader r, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            RouteTable t = r.poll();
            if (t != null) {
                return t;
            }
            Thread.sleep(0, 200_000);
        }
        return null;
    }
}
