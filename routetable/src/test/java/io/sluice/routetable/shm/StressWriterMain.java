package io.sluice.routetable.shm;

import java.nio.file.Path;

/** The writer half of {@link RouteTableFileStressTest}'s two-process test: publishes generations 1..N, then exits. */
public final class StressWriterMain {
    private StressWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        try (RouteTableFileWriter w = RouteTableFileWriter.open(file, 8192)) {
            for (long g = 1; g <= count; g++) {
                w.publish(Tables.forGeneration(g));
            }
        }
    }
}
