package io.sluice.routetable.shm;

import static io.sluice.routetable.shm.RouteTableFileDescriptor.*;

import io.sluice.routetable.RouteTable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * The data plane's side of the shared route file. Layout and protocol: {@link RouteTableFileDescriptor}.
 *
 * <p>Typical use, on one control thread of the data plane (not on the shards):
 * <pre>{@code
 * RouteTableFileReader reader = RouteTableFileReader.open(RouteTableFileDescriptor.defaultPath());
 * // every millisecond or so:
 * RouteTable next = reader.poll();
 * if (next != null) {
 *     // reader.lastPollEndpointsOnly(): next.hosts() is the very list of the previous table,
 *     // only backends' endpoints changed: no need to rebuild the host/path matcher.
 *     compileAndPostToShards(next);
 * }
 * }</pre>
 *
 * <p>{@link #poll()} costs one acquire load of the header's publish sequence when nothing was published. A table
 * that fails its checksums or does not decode is <em>rejected</em>: counted ({@link #rejectedCount()}), kept for
 * inspection ({@link #lastRejection()}), and {@link #current()} stays the last good table. A table whose generation is
 * not newer than the current one is ignored (a writer restarted on a fresh file restarts the count: tables in a file
 * the reader had not seen before are accepted whatever their generation).
 *
 * <p>The file need not exist when the reader is opened: until it does, polls try to attach at most every
 * {@value #ATTACH_INTERVAL_MS} ms. Not thread-safe.
 */
public final class RouteTableFileReader implements AutoCloseable {
    /** How often a detached reader (no file yet, or a superseded one) tries to open the path. */
    public static final long ATTACH_INTERVAL_MS = 100;
    /** Idle polls between checks that the path still names the mapped file (it may have been deleted and re-made). */
    static final int REPLACED_CHECK_POLLS = 1024;
    private static final int MAX_READ_ATTEMPTS = 64;

    private final Path path;
    private final RouteTableDecoder decoder = new RouteTableDecoder();

    private FileChannel channel;
    private Arena arena;
    private MemorySegment segment;
    private Object fileKey;
    private long lastSequence = Long.MIN_VALUE;
    private long nextAttachNanos;
    private int idlePolls;
    private long lastReplacedCheckNanos;

    private byte[] copy = new byte[64 * 1024];
    private RouteTable current;
    /** Tables of a generation at or below this are ignored; reset when the reader attaches to a different file. */
    private long acceptAbove = Long.MIN_VALUE;
    private boolean lastPollEndpointsOnly;

    private long rejectedCount;
    private CorruptRouteTableException lastRejection;
    private long tornRetries;
    private long tablesAccepted;
    private boolean closed;

    private RouteTableFileReader(Path path) {
        this.path = path;
    }

    /** Opens a reader on {@code path}; the file may not exist yet. */
    public static RouteTableFileReader open(Path path) {
        RouteTableFileReader r = new RouteTableFileReader(Objects.requireNonNull(path, "path").toAbsolutePath());
        r.tryAttach();
        return r;
    }

    /** Opens a reader on {@link RouteTableFileDescriptor#defaultPath()}. */
    public static RouteTableFileReader open() {
        return open(RouteTableFileDescriptor.defaultPath());
    }

    public Path path() {
        return path;
    }

    /** Whether a valid route file is mapped. */
    public boolean isAttached() {
        return segment != null;
    }

    /** The last good table, or null before the first. */
    public RouteTable current() {
        return current;
    }

    /** Whether the table the last non-null {@link #poll()} returned differed from its predecessor only in endpoints. */
    public boolean lastPollEndpointsOnly() {
        return lastPollEndpointsOnly;
    }

    /** Tables rejected as corrupt or undecodable since the reader was opened. */
    public long rejectedCount() {
        return rejectedCount;
    }

    /** Why the last rejected table was rejected, or null if none was. */
    public CorruptRouteTableException lastRejection() {
        return lastRejection;
    }

    /** Times a copy raced with the writer and was retried (diagnostics). */
    public long tornRetries() {
        return tornRetries;
    }

    /** Tables returned by {@link #poll()} so far. */
    public long tablesAccepted() {
        return tablesAccepted;
    }

    /** PID of the process that last opened the file for writing, or 0 when detached. */
    public long writerPid() {
        return segment == null ? 0 : segment.get(LONG, WRITER_PID_OFFSET);
    }

    /** When the writer last reported itself alive (epoch ms), or 0 when detached. */
    public long writerHeartbeatEpochMillis() {
        return segment == null ? 0 : getLongAcquire(segment, HEARTBEAT_OFFSET);
    }

    /** The file's writer state ({@code OPEN}, {@code WRITER_CLOSED}, {@code SUPERSEDED}), or {@code DETACHED}. */
    public String writerState() {
        return segment == null ? "DETACHED" : stateName(getIntAcquire(segment, STATE_OFFSET));
    }

    /**
     * Returns a newly published table, decoded, if there is one newer than {@link #current()}; null otherwise
     * (nothing new, not yet attached, writer mid-publication: try again later, or the new table was rejected).
     */
    public RouteTable poll() {
        if (closed) {
            throw new IllegalStateException("reader closed");
        }
        MemorySegment seg = segment;
        if (seg == null) {
            if (System.nanoTime() - nextAttachNanos < 0 || !tryAttach()) {
                return null;
            }
            seg = segment;
        }
        long seq = getLongAcquire(seg, PUBLISH_SEQUENCE_OFFSET);
        if (seq == lastSequence) {
            if (++idlePolls >= REPLACED_CHECK_POLLS) {
                idlePolls = 0;
                checkReplaced();
            }
            return null;
        }
        idlePolls = 0;
        int state = getIntAcquire(seg, STATE_OFFSET);
        if (state == STATE_SUPERSEDED) {
            // A writer is replacing the file; the next polls attach to the new one when it is in place.
            detach();
            nextAttachNanos = System.nanoTime();
            return null;
        }
        return readActive(seq);
    }

    private RouteTable readActive(long seq) {
        for (int attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
            MemorySegment seg = segment;
            int slot = getIntAcquire(seg, ACTIVE_SLOT_OFFSET);
            if (slot != 0 && slot != 1) {
                lastSequence = seq; // nothing published yet
                return null;
            }
            long so = slotOffset(slot);
            long q1 = getLongAcquire(seg, so + SLOT_SEQLOCK_OFFSET);
            if ((q1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long generation = seg.get(LONG, so + SLOT_GENERATION_OFFSET);
            long dataOffset = seg.get(LONG, so + SLOT_DATA_OFFSET_OFFSET);
            int capacity = seg.get(INT, so + SLOT_DATA_CAPACITY_OFFSET);
            int length = seg.get(INT, so + SLOT_IMAGE_LENGTH_OFFSET);
            boolean sane = dataOffset >= HEADER_LENGTH && length >= 0 && length <= capacity;
            if (sane && dataOffset + length > seg.byteSize()) {
                // The writer grew the file after we mapped it.
                VarHandle.acquireFence();
                if (getLongAcquire(seg, so + SLOT_SEQLOCK_OFFSET) != q1) {
                    tornRetries++;
                    continue;
                }
                if (!remap(dataOffset + length)) {
                    return reject(seq, new CorruptRouteTableException("slot " + slot + " image [" + dataOffset + ", +"
                        + length + ") lies beyond the end of the file"));
                }
                continue;
            }
            if (sane) {
                if (copy.length < length) {
                    copy = new byte[Math.max(length, copy.length * 2)];
                }
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, dataOffset, copy, 0, length);
            }
            VarHandle.acquireFence();
            long q2 = getLongAcquire(seg, so + SLOT_SEQLOCK_OFFSET);
            if (q1 != q2) {
                tornRetries++;
                continue;
            }
            // A consistent copy of what the writer published.
            if (!sane) {
                return reject(seq, new CorruptRouteTableException("slot " + slot + " descriptor is invalid: offset "
                    + dataOffset + ", length " + length + ", capacity " + capacity));
            }
            if (generation <= acceptAbove) {
                lastSequence = seq;
                return null;
            }
            RouteTable table;
            try {
                table = decoder.decode(copy, 0, length);
            } catch (CorruptRouteTableException e) {
                return reject(seq, new CorruptRouteTableException("generation " + generation + " in slot " + slot
                    + " rejected: " + e.getMessage(), e));
            }
            if (table.generation() != generation) {
                return reject(seq, new CorruptRouteTableException("slot " + slot + " says generation " + generation
                    + " but its image says " + table.generation()));
            }
            lastSequence = seq;
            lastPollEndpointsOnly = current != null && decoder.lastReusedRoutes();
            acceptAbove = generation;
            current = table;
            tablesAccepted++;
            return table;
        }
        // The writer kept the slot busy; leave lastSequence so that the next poll tries again.
        return null;
    }

    private RouteTable reject(long seq, CorruptRouteTableException e) {
        lastSequence = seq; // counted once per publication, not once per poll
        rejectedCount++;
        lastRejection = e;
        return null;
    }

    private boolean remap(long needed) {
        try {
            long size = channel.size();
            if (size < needed) {
                return false;
            }
            Arena old = arena;
            arena = Arena.ofShared();
            segment = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            old.close();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean tryAttach() {
        nextAttachNanos = System.nanoTime() + ATTACH_INTERVAL_MS * 1_000_000L;
        FileChannel ch = null;
        Arena a = null;
        try {
            Object keyBefore = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            ch = FileChannel.open(path, StandardOpenOption.READ);
            Object keyAfter = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            long size = ch.size();
            if (size < HEADER_LENGTH || !Objects.equals(keyBefore, keyAfter)) {
                ch.close();
                return false;
            }
            a = Arena.ofShared();
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, a);
            if (seg.get(LONG, MAGIC_OFFSET) != MAGIC) {
                throw new CorruptRouteTableException(path + " is not a Sluice route file");
            }
            int version = seg.get(INT, LAYOUT_VERSION_OFFSET);
            if (version != LAYOUT_VERSION) {
                throw new CorruptRouteTableException(path + " has route file layout version " + version
                    + ", this reader reads " + LAYOUT_VERSION);
            }
            if (!Objects.equals(keyAfter, fileKey) || keyAfter == null) {
                acceptAbove = Long.MIN_VALUE; // a different file: its generations start afresh
            }
            channel = ch;
            arena = a;
            segment = seg;
            fileKey = keyAfter;
            lastSequence = Long.MIN_VALUE;
            lastReplacedCheckNanos = System.nanoTime();
            return true;
        } catch (NoSuchFileException e) {
            closeQuietly(ch, a);
            return false;
        } catch (CorruptRouteTableException e) {
            closeQuietly(ch, a);
            if (lastRejection == null || !e.getMessage().equals(lastRejection.getMessage())) {
                rejectedCount++;
                lastRejection = e;
            }
            return false;
        } catch (IOException e) {
            closeQuietly(ch, a);
            return false;
        }
    }

    /** Reattaches if the path now names another file (deleted and re-created while we held the old one). */
    private void checkReplaced() {
        long now = System.nanoTime();
        if (now - lastReplacedCheckNanos < ATTACH_INTERVAL_MS * 1_000_000L) {
            return;
        }
        lastReplacedCheckNanos = now;
        try {
            Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            if (key != null && !key.equals(fileKey)) {
                detach();
                tryAttach();
            }
        } catch (IOException e) {
            // Gone for now: keep the mapping we have, and the last good table.
        }
    }

    private void detach() {
        closeQuietly(channel, arena);
        channel = null;
        arena = null;
        segment = null;
    }

    private static void closeQuietly(FileChannel ch, Arena a) {
        if (a != null) {
            a.close();
        }
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            detach();
        }
    }
}
