package io.sluice.routetable.shm;

import static org.junit.jupiter.api.Assertions.*;

import io.sluice.routetable.RouteTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer publishing as fast as it can while a reader polls as fast as it can: every table the reader accepts must be
 * exactly the one published under its generation (no torn table), generations only increase, nothing is rejected,
 * and the reader ends on the last table. Tables alternate between endpoint-only and route changes and vary in size
 * so that slots are regrown (and the reader remaps) while it reads. Bounded by publication count, not by time.
 */
class RouteTableFileStressTest {
    @TempDir
    Path dir;

    @Test
    void concurrentWriterAndReaderInOneProcess() throws Exception {
        Path file = dir.resolve("routes");
        int publications = 20_000;
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file, 8192);
             RouteTableFileReader r = RouteTableFileReader.open(file)) {
            // Tables are made before the race so the writer publishes back to back.
            List<RouteTable> tables = new ArrayList<>(publications);
            for (long g = 1; g <= publications; g++) {
                tables.add(Tables.forGeneration(g));
            }
            Thread writer = new Thread(() -> {
                try {
                    for (RouteTable t : tables) {
                        w.publish(t);
                    }
                } catch (Throwable e) {
                    writerFailure.set(e);
                }
            }, "stress-writer");
            writer.start();
            Result res = readUntil(r, publications, writer);
            writer.join();
            assertNull(writerFailure.get());
            assertEquals(0, r.rejectedCount(), () -> String.valueOf(r.lastRejection()));
            assertEquals(publications, res.lastGeneration);
            assertTrue(res.accepted > 1, "the reader saw tables while the writer ran");
            System.out.printf("in-process stress: %d publications, %d tables read, %d torn copies retried%n",
                publications, res.accepted, r.tornRetries());
        }
    }

    @Test
    void writerInAnotherProcess() throws Exception {
        Path file = dir.resolve("routes");
        int publications = 5_000;
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
            StressWriterMain.class.getName(), file.toString(), Integer.toString(publications))
            .redirectErrorStream(true).redirectOutput(dir.resolve("writer.log").toFile()).start();
        try (RouteTableFileReader r = RouteTableFileReader.open(file)) {
            Result res = readUntil(r, publications, null);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "writer process finished");
            assertEquals(0, p.exitValue(), () -> readLog(dir.resolve("writer.log")));
            assertEquals(0, r.rejectedCount(), () -> String.valueOf(r.lastRejection()));
            assertEquals(publications, res.lastGeneration);
            System.out.printf("two-process stress: %d publications, %d tables read, %d torn copies retried%n",
                publications, res.accepted, r.tornRetries());
        } finally {
            p.destroyForcibly();
        }
    }

    record Result(long lastGeneration, long accepted) {
    }

    private static Result readUntil(RouteTableFileReader r, long lastGeneration, Thread writer) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long last = 0;
        long accepted = 0;
        while (last < lastGeneration && System.nanoTime() < deadline) {
            RouteTable t = r.poll();
            if (t == null) {
                if (writer != null && !writer.isAlive() && r.current() != null
                        && r.current().generation() == lastGeneration) {
                    break;
                }
                Thread.onSpinWait();
                continue;
            }
            assertTrue(t.generation() > last, "generation went from " + last + " to " + t.generation());
            // Compare against an independently built table: a torn read cannot pass this.
            assertEquals(Tables.forGeneration(t.generation()), t, "table of generation " + t.generation());
            last = t.generation();
            accepted++;
        }
        return new Result(last, accepted);
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log);
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
