package io.sluice.routetable.shm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Layout of the shared route file through which the agent ({@link RouteTableFileWriter}) hands compiled
 * {@link io.sluice.routetable.RouteTable}s to the data plane ({@link RouteTableFileReader}).
 *
 * <p>The file is a one-page header followed by data regions. The header holds two <em>slots</em>; each slot
 * describes one region holding one {@link RouteTableImage image}. The writer always writes the slot that is
 * <em>not</em> active (double buffering), then makes it active and bumps the publish sequence. Each slot is
 * additionally guarded by a seqlock so that a reader that is slow enough to see the writer come round to the same slot
 * again (two publications during one copy) notices and retries, rather than using a torn copy. On top of that the
 * image carries CRC32Cs, so a table damaged by anything else (a writer that died half-way, a stray write, a buggy
 * writer) is rejected and counted by the reader, which keeps its last good table.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                  Magic "SLUICERT" (8 ASCII bytes)             |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                        Layout Version                         |  8
 *  +---------------------------------------------------------------+
 *  |                 Header Length (= data start, 4096)            | 12
 *  +---------------------------------------------------------------+
 *  |                          Writer PID                           | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 Writer Start Time (epoch ms)                  | 24
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 File Length (grows, never shrinks)            | 32
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       Reserved to 64                         ...
 *  +---------------------------------------------------------------+  --- cache line 1: read by every poll
 *  |               Publish Sequence (release/acquire)              | 64
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |             Active Slot (0, 1, or -1 before the first)        | 72
 *  +---------------------------------------------------------------+
 *  |          State: 1 OPEN, 2 WRITER_CLOSED, 3 SUPERSEDED          | 76
 *  +---------------------------------------------------------------+
 *  |                       Reserved to 128                        ...
 *  +---------------------------------------------------------------+  --- cache line 2: written once a second
 *  |                  Writer Heartbeat (epoch ms)                  | 128
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       Reserved to 192                        ...
 *  +---------------------------------------------------------------+  --- slot 0 at 192, slot 1 at 256
 *  |             Slot Seqlock (odd while being written)            | +0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                   Generation of the image                     | +8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |              Data Offset of the slot's region                 | +16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                    Data Capacity of the region                | +24
 *  +---------------------------------------------------------------+
 *  |                      Image Length in it                       | +28
 *  +---------------------------------------------------------------+
 *  |                       Reserved to 64                         ...
 *  +---------------------------------------------------------------+
 *  |                     Reserved to 4096                         ...
 *  +---------------------------------------------------------------+
 *  |        Data regions (page aligned), one image per slot       ...  4096
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p><b>Publishing</b> (writer, slot s = the inactive one): seqlock(s) becomes odd; the slot's fields and its region are
 * written; seqlock(s) becomes even (release); Active Slot = s (release); Publish Sequence + 1 (release).
 *
 * <p><b>Reading</b> (reader): Publish Sequence (acquire) — if unchanged since the last poll, done: that single load
 * is the whole cost of an idle poll. Otherwise: s = Active Slot; q1 = seqlock(s) (acquire), retry while odd; copy the
 * slot's fields and image into private memory; acquire fence; q2 = seqlock(s); retry if q1 != q2. Only then are the
 * CRCs checked and the image decoded, from the private copy, so decoding never races with the writer.
 *
 * <p><b>Growing</b>: when an image does not fit its slot's region, the writer appends a larger region to the file (a
 * reader's existing mapping stays valid: the file only grows), updates File Length, and points the slot at the new
 * region inside the seqlock. A reader that finds a slot beyond its mapping maps the file again. The old region is
 * left unused; the waste is bounded by doubling.
 *
 * <p><b>Lifecycle</b>: the writer creates the file under a temporary name with mode 0600 and renames it into place,
 * so a reader never sees a half-initialised header. One writer at a time holds an exclusive lock on the file. A
 * writer that finds a compatible file adopts it, so readers stay attached across agent restarts, and continues the
 * generation numbers after the last published one. A writer that finds an incompatible file (other layout version)
 * marks it SUPERSEDED (the first 128 bytes keep their meaning in every layout version for this purpose), bumps its
 * publish sequence and replaces it; readers then reopen the path. Closing the writer marks the file WRITER_CLOSED and
 * leaves it in place: a data plane that starts while the agent is down still gets the last table.
 */
public final class RouteTableFileDescriptor {
    /** Where the agent writes and the data plane reads unless told otherwise. */
    public static final Path DEFAULT_PATH = Path.of("/dev/shm/sluice-routes");

    /** "SLUICERT" in ASCII, read as a little-endian long. */
    public static final long MAGIC = 0x545245434955_4c53L;
    public static final int LAYOUT_VERSION = 1;
    public static final int HEADER_LENGTH = 4096;
    public static final int PAGE = 4096;

    public static final int MAGIC_OFFSET = 0;
    public static final int LAYOUT_VERSION_OFFSET = 8;
    public static final int HEADER_LENGTH_OFFSET = 12;
    public static final int WRITER_PID_OFFSET = 16;
    public static final int WRITER_START_OFFSET = 24;
    public static final int FILE_LENGTH_OFFSET = 32;
    public static final int PUBLISH_SEQUENCE_OFFSET = 64;
    public static final int ACTIVE_SLOT_OFFSET = 72;
    public static final int STATE_OFFSET = 76;
    public static final int HEARTBEAT_OFFSET = 128;

    public static final int SLOT_COUNT = 2;
    public static final int SLOTS_OFFSET = 192;
    public static final int SLOT_LENGTH = 64;
    public static final int SLOT_SEQLOCK_OFFSET = 0;
    public static final int SLOT_GENERATION_OFFSET = 8;
    public static final int SLOT_DATA_OFFSET_OFFSET = 16;
    public static final int SLOT_DATA_CAPACITY_OFFSET = 24;
    public static final int SLOT_IMAGE_LENGTH_OFFSET = 28;

    public static final int STATE_OPEN = 1;
    public static final int STATE_WRITER_CLOSED = 2;
    public static final int STATE_SUPERSEDED = 3;

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Coordinates (MemorySegment, long offset); used for the fields two processes race on. */
    static final VarHandle LONG_VH = LONG.varHandle();
    static final VarHandle INT_VH = INT.varHandle();

    private RouteTableFileDescriptor() {
    }

    /** {@link #DEFAULT_PATH}, or {@code sluice-routes} in the temporary directory where there is no /dev/shm. */
    public static Path defaultPath() {
        if (Files.isDirectory(DEFAULT_PATH.getParent())) {
            return DEFAULT_PATH;
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "sluice-routes");
    }

    public static int slotOffset(int slot) {
        return SLOTS_OFFSET + slot * SLOT_LENGTH;
    }

    static long alignToPage(long n) {
        return (n + PAGE - 1) & -PAGE;
    }

    static long getLongAcquire(MemorySegment s, long offset) {
        return (long) LONG_VH.getAcquire(s, offset);
    }

    static int getIntAcquire(MemorySegment s, long offset) {
        return (int) INT_VH.getAcquire(s, offset);
    }

    static void setLongRelease(MemorySegment s, long offset, long v) {
        LONG_VH.setRelease(s, offset, v);
    }

    static void setIntRelease(MemorySegment s, long offset, int v) {
        INT_VH.setRelease(s, offset, v);
    }

    static void setLongVolatile(MemorySegment s, long offset, long v) {
        LONG_VH.setVolatile(s, offset, v);
    }

    static String stateName(int state) {
        return switch (state) {
            case STATE_OPEN -> "OPEN";
            case STATE_WRITER_CLOSED -> "WRITER_CLOSED";
            case STATE_SUPERSEDED -> "SUPERSEDED";
            default -> "UNKNOWN(" + state + ")";
        };
    }
}
