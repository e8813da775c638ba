package io.sluice.perf.loadgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LoadOptionsTest {

    @Test
    void parsesTheLabInvocation() {
        LoadOptions o = LoadOptions.parse(new String[] {
            "--rate", "40000", "--connections", "64", "--duration", "10", "--warmup", "3", "http://127.0.0.1:18082/"});
        assertEquals("127.0.0.1", o.host());
        assertEquals(18082, o.port());
        assertEquals("/", o.path());
        assertEquals("127.0.0.1:18082", o.hostHeader());
        assertEquals(40000, o.ratePerSecond());
        assertEquals(64, o.connections());
        assertEquals(TimeUnit.SECONDS.toNanos(10), o.durationNanos());
        assertEquals(TimeUnit.SECONDS.toNanos(3), o.warmupNanos());
    }

    @Test
    void parsesDurationsWithUnits() {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1500), LoadOptions.parseDuration("1500ms"));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(2500), LoadOptions.parseDuration("2.5s"));
        assertEquals(TimeUnit.MINUTES.toNanos(1), LoadOptions.parseDuration("1m"));
        assertEquals(TimeUnit.MICROSECONDS.toNanos(300), LoadOptions.parseDuration("300us"));
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.parseDuration("soon"));
    }

    @Test
    void keepsPathQueryAndHostHeader() {
        LoadOptions o = LoadOptions.parse(new String[] {
            "-R", "10", "--host-header", "demo.local", "http://localhost:8080/a/b?c=d"});
        assertEquals("/a/b?c=d", o.path());
        assertEquals("demo.local", o.hostHeader());
    }

    @Test
    void refusesBadInput() {
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.parse(new String[] {"http://127.0.0.1:1/"}));
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.parse(new String[] {"-R", "5"}));
        assertThrows(IllegalArgumentException.class,
            () -> LoadOptions.parse(new String[] {"-R", "5", "https://127.0.0.1/"}));
        assertThrows(IllegalArgumentException.class,
            () -> LoadOptions.parse(new String[] {"-R", "0", "http://127.0.0.1:1/"}));
        assertThrows(IllegalArgumentException.class,
            () -> LoadOptions.parse(new String[] {"-R", "5", "--bogus", "http://127.0.0.1:1/"}));
    }

    @Test
    void refusesNonLoopbackTargetsUnlessAllowed() {
        LoadOptions o = LoadOptions.parse(new String[] {"-R", "5", "http://192.0.2.1:80/"});
        assertThrows(IllegalArgumentException.class, o::resolve);
    }
}
