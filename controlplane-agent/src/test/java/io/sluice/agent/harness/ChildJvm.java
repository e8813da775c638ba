package io.sluice.agent.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM of the running one: same {@code java.home}, same class path, the flags every Sluice JVM runs with;
 * standard output and error go to a log file that {@link #awaitLog} tails. {@link #close()} stops it with SIGTERM
 * (its shutdown hooks run), then SIGKILL after 5 s.
 */
public final class ChildJvm implements AutoCloseable {
    /** The JVM flags bin/sluice and surefire give every Sluice JVM. */
    public static final List<String> SLUICE_FLAGS = List.of("--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED");

    private final String name;
    private final Process process;
    private final Path log;

    private ChildJvm(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * @param jvmArgs extra JVM options (heap size...), after {@link #SLUICE_FLAGS}
     */
    public static ChildJvm start(String name, Path log, List<String> jvmArgs, String mainClass, List<String> args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(SLUICE_FLAGS);
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ChildJvm(name, p, log);
    }

    public String name() {
        return name;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** Everything the child has printed so far. */
    public String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /** The last {@code lines} lines of the log, for failure messages. */
    public String tail(int lines) {
        String[] all = log().split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
            sb.append("  ").append(name).append("| ").append(all[i]).append('\n');
        }
        return sb.toString();
    }

    /** Waits until the log contains {@code text}; false on timeout or if the child exited first. */
    public boolean awaitLog(String text, long timeoutMs) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < until) {
            if (log().contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                return log().contains(text);
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** Waits for the child to exit by itself; false on timeout. */
    public boolean awaitExit(long timeoutMs) throws InterruptedException {
        return process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** The exit code (the child must have exited). */
    public int exitCode() {
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
