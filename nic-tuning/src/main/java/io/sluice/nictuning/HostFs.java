package io.sluice.nictuning;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The host's sysfs and procfs (and the default places of the core map and state file), seen under a root directory:
 * {@code /} on a real node, a fixture tree in tests ({@code --root DIR}). Paths are given as the absolute paths they
 * have on a real host ({@code /sys/class/net/eth0/device/numa_node}).
 */
final class HostFs {
    private final Path root;

    HostFs(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    Path root() {
        return root;
    }

    boolean isRealRoot() {
        return root.getParent() == null;
    }

    /** The real location of a host path. */
    Path resolve(String hostPath) {
        if (!hostPath.startsWith("/")) {
            throw new IllegalArgumentException("host paths are absolute: " + hostPath);
        }
        return root.resolve(hostPath.substring(1));
    }

    boolean exists(String hostPath) {
        return Files.exists(resolve(hostPath));
    }

    boolean isDirectory(String hostPath) {
        return Files.isDirectory(resolve(hostPath));
    }

    /**
     * The file's content without trailing whitespace, or {@code null} if it does not exist or cannot be read.
     *
     * <p>Reads with one large buffer from offset 0: sysctl files answer only a read that starts at offset 0 and
     * report end-of-file for any later offset, so a reader that probes with a short first read (as
     * {@code Files.readString} does for files whose size is 0, which procfs files report) sees one character.
     */
    String read(String hostPath) {
        try (InputStream in = Files.newInputStream(resolve(hostPath))) {
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) > 0) {
                content.write(buffer, 0, n);
            }
            return content.toString(StandardCharsets.UTF_8).stripTrailing();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the file exists but its mode forbids writing even to its owner (e.g. a sysctl fixed in a netns). */
    boolean isReadOnly(String hostPath) {
        try {
            return !Files.getPosixFilePermissions(resolve(hostPath)).contains(PosixFilePermission.OWNER_WRITE);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Sorted names in a directory; empty if it does not exist. */
    List<String> list(String hostPath) {
        Path dir = resolve(hostPath);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = new ArrayList<>();
            s.forEach(p -> names.add(p.getFileName().toString()));
            names.sort(null);
            return names;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The last element of a symbolic link's target ({@code .../drivers/mlx5_core} gives {@code mlx5_core}). */
    String linkName(String hostPath) {
        try {
            Path target = Files.readSymbolicLink(resolve(hostPath));
            Path name = target.getFileName();
            return name == null ? null : name.toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * Writes a value the way {@code echo value > file} does: one write of the value and a newline into the existing
     * file (sysfs and procfs take a whole value per write).
     */
    void write(String hostPath, String value) throws IOException {
        Path file = resolve(hostPath);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(hostPath);
        }
        Files.writeString(file, value + "\n", StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Writes an ordinary file of ours (core map, state), atomically, creating its directory. */
    static void writeAtomically(Path file, String content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static boolean isPermissionProblem(IOException e) {
        String m = String.valueOf(e.getMessage());
        return e instanceof AccessDeniedException || m.contains("Permission denied")
                || m.contains("Operation not permitted") || m.contains("Read-only file system");
    }
}
