package io.sluice.perf.loadgen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of processes from {@code /proc/<pid>/stat}: user + system time of all their threads, in clock ticks.
 *
 * <p>Used to put a server's CPU cost next to the rate a load generator achieved against it: when the generator
 * saturates first, the server is not busy all the time, and its work per CPU-second is the fair comparison.
 * Linux only; where {@code /proc} cannot be read the result is -1 and callers report nothing.
 */
final class ProcessCpu {

    private ProcessCpu() {
    }

    /** Sum of utime + stime of {@code pids} in clock ticks, or -1 when one of them cannot be read. */
    static long ticks(int... pids) {
        long sum = 0;
        for (int pid : pids) {
            long t = ticks(Path.of("/proc", Integer.toString(pid), "stat"));
            if (t < 0) {
                return -1;
            }
            sum += t;
        }
        return sum;
    }

    /** utime + stime of this process, in clock ticks, or -1. */
    static long selfTicks() {
        return ticks(Path.of("/proc/self/stat"));
    }

    static long ticks(Path stat) {
        try {
            return parse(Files.readString(stat, StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * utime + stime from the text of a stat file. The command name (field 2) may hold spaces and parentheses,
     * so fields are counted from the last ')': after it come state (field 3) ... utime (14) and stime (15).
     */
    static long parse(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc stat line");
        }
        String[] f = stat.substring(close + 2).trim().split(" +");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
