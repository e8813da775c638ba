package io.sluice.routetable.shm;

import static io.sluice.routetable.shm.RouteTableFileDescriptor.*;

import io.sluice.routetable.RouteTable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/**
 * The agent's side of the shared route file: publishes {@link RouteTable}s so that a {@link RouteTableFileReader} in
 * another process (or thread) never sees a torn one. Layout and protocol: {@link RouteTableFileDescriptor}.
 *
 * <p>Not thread-safe: one thread publishes (the agent's compile loop). Publishing a table whose endpoints are the only
 * change copies the previous ROUTES and TLS sections as bytes ({@link RouteTableEncoder}); the reader then decodes
 * the endpoints only.
 */
public final class RouteTableFileWriter implements AutoCloseable {
    /** Each slot's region starts at this size and doubles as tables grow. */
    public static final int DEFAULT_INITIAL_SLOT_CAPACITY = 1 << 20;

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final int initialSlotCapacity;
    private final RouteTableEncoder encoder = new RouteTableEncoder();
    private Arena arena;
    private MemorySegment segment;
    private long fileLength;
    private long lastGeneration;
    private long publishCount;
    private int lastImageLength;
    private boolean closed;

    private RouteTableFileWriter(Path path, FileChannel channel, FileLock lock, int initialSlotCapacity,
                                 long fileLength, long lastGeneration) throws IOException {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.initialSlotCapacity = initialSlotCapacity;
        this.fileLength = fileLength;
        this.lastGeneration = lastGeneration;
        map();
    }

    /** Opens {@link RouteTableFileDescriptor#defaultPath()}. */
    public static RouteTableFileWriter open() throws IOException {
        return open(RouteTableFileDescriptor.defaultPath());
    }

    public static RouteTableFileWriter open(Path path) throws IOException {
        return open(path, DEFAULT_INITIAL_SLOT_CAPACITY);
    }

    /**
     * Adopts the file at {@code path} if it has this layout, else creates it (mode 0600, created under a temporary
     * name and renamed into place).
     *
     * @throws IOException when another writer holds the file, or on I/O failure
     */
    public static RouteTableFileWriter open(Path path, int initialSlotCapacity) throws IOException {
        Objects.requireNonNull(path, "path");
        if (initialSlotCapacity < RouteTableImage.HEADER_LENGTH) {
            throw new IllegalArgumentException("initialSlotCapacity too small: " + initialSlotCapacity);
        }
        path = path.toAbsolutePath();
        Path dir = path.getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (Files.exists(path)) {
            RouteTableFileWriter adopted = tryAdopt(path, initialSlotCapacity);
            if (adopted != null) {
                return adopted;
            }
        }
        return create(path, initialSlotCapacity);
    }

    private static FileLock lockOrFail(FileChannel ch, Path path) throws IOException {
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            throw new IOException("route file " + path + " is held by another writer (is another agent running?)");
        }
        return l;
    }

    private static RouteTableFileWriter tryAdopt(Path path, int initialSlotCapacity) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock l = lockOrFail(ch, path);
        boolean ok = false;
        try {
            long size = ch.size();
            if (size >= HEADER_LENGTH) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment h = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_LENGTH, a);
                    long magic = h.get(LONG, MAGIC_OFFSET);
                    int version = h.get(INT, LAYOUT_VERSION_OFFSET);
                    long recorded = h.get(LONG, FILE_LENGTH_OFFSET);
                    if (magic == MAGIC && version == LAYOUT_VERSION && recorded <= size
                            && h.get(INT, HEADER_LENGTH_OFFSET) == HEADER_LENGTH) {
                        long lastGen = 0;
                        int active = getIntAcquire(h, ACTIVE_SLOT_OFFSET);
                        if (active == 0 || active == 1) {
                            lastGen = h.get(LONG, slotOffset(active) + SLOT_GENERATION_OFFSET);
                        }
                        for (int s = 0; s < SLOT_COUNT; s++) {
                            lastGen = Math.max(lastGen, h.get(LONG, slotOffset(s) + SLOT_GENERATION_OFFSET));
                        }
                        RouteTableFileWriter w = new RouteTableFileWriter(path, ch, l, initialSlotCapacity, size,
                            Math.max(0, lastGen));
                        w.stampWriter();
                        ok = true;
                        return w;
                    }
                    if (magic == MAGIC) {
                        // Another layout version: tell its readers to reopen the path once we have replaced it.
                        setIntRelease(h, STATE_OFFSET, STATE_SUPERSEDED);
                        setLongVolatile(h, PUBLISH_SEQUENCE_OFFSET, h.get(LONG, PUBLISH_SEQUENCE_OFFSET) + 1);
                    }
                }
            }
            return null;
        } finally {
            if (!ok) {
                l.release();
                ch.close();
            }
        }
    }

    private static RouteTableFileWriter create(Path path, int initialSlotCapacity) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("temporary route file " + tmp + " appeared concurrently", e);
        }
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock l = lockOrFail(ch, tmp);
        try {
            long cap = alignToPage(initialSlotCapacity);
            long length = HEADER_LENGTH + 2 * cap;
            extend(ch, length);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment h = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_LENGTH, a);
                h.fill((byte) 0);
                h.set(LONG, MAGIC_OFFSET, MAGIC);
                h.set(INT, LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
                h.set(INT, HEADER_LENGTH_OFFSET, HEADER_LENGTH);
                h.set(LONG, FILE_LENGTH_OFFSET, length);
                h.set(INT, ACTIVE_SLOT_OFFSET, -1);
                h.set(INT, STATE_OFFSET, STATE_OPEN);
                for (int s = 0; s < SLOT_COUNT; s++) {
                    h.set(LONG, slotOffset(s) + SLOT_DATA_OFFSET_OFFSET, HEADER_LENGTH + s * cap);
                    h.set(INT, slotOffset(s) + SLOT_DATA_CAPACITY_OFFSET, (int) cap);
                }
            }
            RouteTableFileWriter w = new RouteTableFileWriter(path, ch, l, initialSlotCapacity, length, 0);
            w.stampWriter();
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return w;
        } catch (IOException | RuntimeException e) {
            l.release();
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    private static void extend(FileChannel ch, long length) throws IOException {
        if (ch.size() < length) {
            ch.write(ByteBuffer.allocate(1), length - 1);
        }
    }

    private void map() throws IOException {
        Arena old = arena;
        arena = Arena.ofShared();
        segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, fileLength, arena);
        if (old != null) {
            old.close();
        }
    }

    private void stampWriter() {
        segment.set(LONG, WRITER_PID_OFFSET, ProcessHandle.current().pid());
        segment.set(LONG, WRITER_START_OFFSET, System.currentTimeMillis());
        setLongRelease(segment, HEARTBEAT_OFFSET, System.currentTimeMillis());
        setIntRelease(segment, STATE_OFFSET, STATE_OPEN);
    }

    public Path path() {
        return path;
    }

    /** The generation of the last table published to this file, by this writer or one before it; 0 if none. */
    public long lastPublishedGeneration() {
        return lastGeneration;
    }

    public long publishCount() {
        return publishCount;
    }

    /** Bytes of the last published image. */
    public int lastImageLength() {
        return lastImageLength;
    }

    /** Whether the last publication reused the previous ROUTES section, i.e. only endpoints changed. */
    public boolean lastPublishReusedRoutes() {
        return encoder.lastRoutesReused();
    }

    /**
     * Publishes {@code table}: on return the data plane's next poll sees it.
     *
     * @throws IllegalArgumentException if its generation is not greater than {@link #lastPublishedGeneration()}
     */
    public void publish(RouteTable table) throws IOException {
        Objects.requireNonNull(table, "table");
        if (closed) {
            throw new IllegalStateException("writer closed");
        }
        if (table.generation() <= lastGeneration) {
            throw new IllegalArgumentException("generation " + table.generation()
                + " is not newer than the last published " + lastGeneration);
        }
        int length = encoder.encode(table);
        byte[] image = encoder.buffer();

        int active = segment.get(INT, ACTIVE_SLOT_OFFSET);
        int slot = active == 0 ? 1 : 0;
        long so = slotOffset(slot);
        long dataOffset = segment.get(LONG, so + SLOT_DATA_OFFSET_OFFSET);
        int capacity = segment.get(INT, so + SLOT_DATA_CAPACITY_OFFSET);
        if (length > capacity) {
            long newCapacity = alignToPage(Math.max((long) length * 2, (long) capacity * 2));
            if (newCapacity > Integer.MAX_VALUE) {
                throw new IOException("route table image of " + length + " bytes is too large");
            }
            dataOffset = alignToPage(fileLength);
            long newLength = dataOffset + newCapacity;
            extend(channel, newLength);
            fileLength = newLength;
            map();
            setLongRelease(segment, FILE_LENGTH_OFFSET, newLength);
            capacity = (int) newCapacity;
        }

        long seq = segment.get(LONG, so + SLOT_SEQLOCK_OFFSET);
        long writing = (seq | 1) + ((seq & 1) == 0 ? 0 : 2); // odd and greater than seq
        setLongVolatile(segment, so + SLOT_SEQLOCK_OFFSET, writing);
        VarHandle.storeStoreFence(); // the odd value is visible before any byte of the new contents
        segment.set(LONG, so + SLOT_GENERATION_OFFSET, table.generation());
        segment.set(LONG, so + SLOT_DATA_OFFSET_OFFSET, dataOffset);
        segment.set(INT, so + SLOT_DATA_CAPACITY_OFFSET, capacity);
        segment.set(INT, so + SLOT_IMAGE_LENGTH_OFFSET, length);
        MemorySegment.copy(image, 0, segment, ValueLayout.JAVA_BYTE, dataOffset, length);
        setLongRelease(segment, so + SLOT_SEQLOCK_OFFSET, writing + 1);

        setIntRelease(segment, ACTIVE_SLOT_OFFSET, slot);
        setLongRelease(segment, PUBLISH_SEQUENCE_OFFSET, segment.get(LONG, PUBLISH_SEQUENCE_OFFSET) + 1);
        lastGeneration = table.generation();
        lastImageLength = length;
        publishCount++;
    }

    /** Records that the writer is alive; the agent calls this about once a second. */
    public void heartbeat() {
        if (!closed) {
            setLongRelease(segment, HEARTBEAT_OFFSET, System.currentTimeMillis());
        }
    }

    /** Marks the file WRITER_CLOSED and releases it. The file stays: readers keep the last table. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        setIntRelease(segment, STATE_OFFSET, STATE_WRITER_CLOSED);
        arena.close();
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }

    // Test hooks: write raw bytes into the active slot's region / seqlock to simulate damage and crashes.

    /** Offset of the active slot's image in the file, or -1 before the first publication. */
    long activeImageOffset() {
        int active = segment.get(INT, ACTIVE_SLOT_OFFSET);
        return active < 0 ? -1 : segment.get(LONG, slotOffset(active) + SLOT_DATA_OFFSET_OFFSET);
    }

    MemorySegment segmentForTest() {
        return segment;
    }
}
