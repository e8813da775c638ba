package io.sluice.nictuning;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code ethtool}. nic-tuning reads channels, rings, coalescing, RSS and offloads through it because sysfs
 * does not expose them, and changes them through it. Injectable so that tests and dry runs can use captured output
 * ({@link FixtureEthtool}).
 */
interface Ethtool {
    /** Runs {@code ethtool args...}. Never throws for a failing command: the failure is in the result. */
    Result run(String... args);

    /** The outcome of one ethtool run. */
    record Result(int exitCode, String stdout, String stderr) {
        static final int NOT_FOUND = 127;

        boolean ok() {
            return exitCode == 0;
        }

        /** The first line that explains a failure, for messages. */
        String message() {
            for (String text : new String[] {stderr, stdout}) {
                for (String line : text.split("\n")) {
                    if (!line.isBlank()) {
                        return line.strip();
                    }
                }
            }
            return "exit code " + exitCode;
        }

        /** The driver or device does not support the operation or the value. */
        boolean unsupported() {
            String all = stdout + "\n" + stderr;
            return all.contains("Operation not supported") || all.contains("not supported")
                    || all.contains("Could not change any device features") || exitCode == NOT_FOUND;
        }

        boolean permissionDenied() {
            String all = stdout + "\n" + stderr;
            return all.contains("Operation not permitted") || all.contains("Permission denied");
        }
    }

    /** The host's ethtool, found on the PATH. */
    static Ethtool system() {
        return SystemEthtool.INSTANCE;
    }

    /** Runs the real binary. */
    final class SystemEthtool implements Ethtool {
        static final SystemEthtool INSTANCE = new SystemEthtool();

        private SystemEthtool() {
        }

        @Override
        public Result run(String... args) {
            List<String> command = new ArrayList<>(args.length + 1);
            command.add("ethtool");
            command.addAll(List.of(args));
            Process process;
            try {
                process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE).start();
            } catch (IOException e) {
                return new Result(Result.NOT_FOUND, "", "ethtool could not be run (" + e.getMessage()
                        + "); install ethtool: channels, rings, coalescing, RSS and offloads need it");
            }
            try {
                process.getOutputStream().close();
                String out = readAll(process.getInputStream());
                String err = readAll(process.getErrorStream());
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    return new Result(124, out, "ethtool " + String.join(" ", args) + " timed out");
                }
                return new Result(process.exitValue(), out, err);
            } catch (IOException e) {
                return new Result(1, "", "ethtool " + String.join(" ", args) + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                return new Result(130, "", "interrupted");
            }
        }

        private static String readAll(InputStream in) throws IOException {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
