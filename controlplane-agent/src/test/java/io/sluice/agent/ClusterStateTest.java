package io.sluice.agent;

import static io.sluice.agent.Fixtures.port;
import static io.sluice.agent.Fixtures.ready;
import static io.sluice.agent.Fixtures.service;
import static io.sluice.agent.Fixtures.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ClusterStateTest {
    /**
     * A manifests reload that renames a Service's EndpointSlice deletes the old slice and adds the new one; a compile
     * running in between would see a Service without endpoints (503s). Through readConsistently it never does.
     */
    @Test
    @Timeout(60)
    void aReloadIsNeverSeenHalfApplied() throws Exception {
        ClusterState state = new ClusterState();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                for (int i = 0; i < 5_000 && failure.get() == null; i++) {
                    List<HasMetadata> objects = List.of(service("ns", "app", port("http", 80, 8080)),
                        slice("ns", "app-" + i, "app", "http", 8080, ready("10.0.0." + (i % 200 + 1))),
                        slice("ns", "other-" + i, "other", "http", 8080, ready("10.0.1.1")));
                    state.replaceAll(objects, List.of());
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                stop.set(true);
            }
        });
        state.replaceAll(List.of(service("ns", "app", port("http", 80, 8080)),
            slice("ns", "app-start", "app", "http", 8080, ready("10.0.0.1"))), List.of());
        AtomicInteger reads = new AtomicInteger();
        writer.start();
        while (!stop.get()) {
            int slices = state.readConsistently(() -> state.endpointSlices("ns", "app").size());
            if (slices != 1) {
                failure.compareAndSet(null, new AssertionError("a compile saw " + slices + " slices of ns/app"));
                break;
            }
            reads.incrementAndGet();
            Thread.yield(); // a non-fair lock: let the writer in
        }
        writer.join(30_000);
        assertEquals(null, failure.get(), () -> String.valueOf(failure.get()));
        assertTrue(reads.get() > 0);
    }
}
