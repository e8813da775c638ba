package io.sluice.agent.source;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.sluice.agent.ClusterState;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.Reasons;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A directory of manifests as the agent's source of objects, watched for changes: the same semantics as a cluster,
 * without one.
 *
 * <p>Each reload parses every file; a file that fails to parse keeps the objects of its last good version (and a
 * {@code ParseError} problem is reported), so a half-saved or broken file never takes routes away. When two files
 * define the same object the first in path order wins ({@code DuplicateObject}). Changes are noticed through the
 * platform's file watch (inotify on Linux), with a once-a-second scan of modification times as a safety net (for
 * file systems without notifications, and ConfigMap volumes whose files are swapped by symlink).
 *
 * <p>Debounce: a reload starts once the directory has been quiet for {@code debounceMs} after the first event
 * ({@value #DEFAULT_DEBOUNCE_MS} ms by default: an editor's save, a rename over the old file, {@code git checkout} or a
 * ConfigMap update are bursts of events a few milliseconds apart, and one reload takes them all), but never later than
 * {@value #MAX_COALESCE_MS} ms after the first event, so a directory that never stays quiet (a generator rewriting
 * files many times a second) still publishes regularly. The reload is applied to the state as one batch
 * ({@link ClusterState#replaceAll}), so the compile loop needs no debounce of its own for this source. Files whose
 * bytes did not change since the last reload are not parsed again: their objects (the very instances) are reused, which
 * keeps a reload of a large directory cheap and lets the compiler's endpoint cache recognise unchanged slices.
 */
public final class ManifestsSource implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");
    private static final long SCAN_INTERVAL_MS = 1000;
    /** Quiet period before a reload, unless the agent is told otherwise ({@code --debounce-ms}). */
    public static final long DEFAULT_DEBOUNCE_MS = 10;
    /** However busy the directory, a reload starts at most this long after the first event of a burst. */
    public static final long MAX_COALESCE_MS = 100;

    /** The result of one reload. */
    public record Snapshot(List<ManifestLoader.Loaded> objects, List<Problem> problems,
                           Map<ObjectRef, String> locations, int files) {
    }

    private final Path dir;
    private final ClusterState state;
    private final long debounceMs;
    private final ManifestLoader loader = new ManifestLoader();
    private final Map<Path, List<ManifestLoader.Loaded>> lastGood = new HashMap<>();
    /** Each file's bytes at the last reload and what parsing them gave. */
    private final Map<Path, Parsed> parsed = new HashMap<>();
    private volatile Map<ObjectRef, String> locations = Map.of();
    private volatile Snapshot lastSnapshot;
    private Map<Path, String> fingerprint = Map.of();
    private WatchService watch;
    private Thread thread;
    private volatile boolean closed;
    private long reloads;

    /** @param state where objects go; null to only parse (validate) */
    public ManifestsSource(Path dir, ClusterState state, long debounceMs) {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.state = state;
        this.debounceMs = debounceMs;
    }

    /** Reads every file, applies the result to the state, and returns it. */
    public synchronized Snapshot reload() throws IOException {
        if (!Files.exists(dir)) {
            throw new IOException("manifests directory " + dir + " does not exist");
        }
        List<Path> files = ManifestLoader.files(dir);
        fingerprint = fingerprint(files);
        List<Problem> problems = new ArrayList<>();
        Map<Path, List<ManifestLoader.Loaded>> next = new LinkedHashMap<>();
        Map<Path, Parsed> parsedNow = new HashMap<>();
        for (Path f : files) {
            Path shown = shown(f);
            ManifestLoader.FileResult r = parse(f, shown, parsedNow);
            if (r.parsed()) {
                problems.addAll(r.problems());
                next.put(f, r.objects());
            } else {
                List<ManifestLoader.Loaded> previous = lastGood.get(f);
                String kept = previous == null ? "; nothing from this file is used"
                    : "; its last good version (" + previous.size() + " objects) stays in use";
                for (Problem p : r.problems()) {
                    problems.add(new Problem(p.object(), p.reason(), p.message() + kept));
                }
                if (previous != null) {
                    next.put(f, previous);
                }
            }
        }
        lastGood.clear();
        lastGood.putAll(next);
        parsed.clear();
        parsed.putAll(parsedNow);

        Map<String, ManifestLoader.Loaded> unique = new LinkedHashMap<>();
        Map<ObjectRef, String> locs = new HashMap<>();
        for (List<ManifestLoader.Loaded> list : next.values()) {
            for (ManifestLoader.Loaded l : list) {
                ObjectRef ref = ObjectRef.of(l.object());
                String k = ref.kind() + " " + ref.key();
                ManifestLoader.Loaded first = unique.putIfAbsent(k, l);
                if (first != null) {
                    problems.add(new Problem(ref, Reasons.DUPLICATE_OBJECT, "defined at " + first.location()
                        + " and again at " + l.location() + "; the first is used"));
                } else {
                    locs.put(ref, l.location());
                }
            }
        }
        List<HasMetadata> objects = new ArrayList<>(unique.size());
        for (ManifestLoader.Loaded l : unique.values()) {
            objects.add(l.object());
        }
        locations = Map.copyOf(locs);
        if (state != null) {
            state.replaceAll(objects, problems);
        }
        reloads++;
        Snapshot s = new Snapshot(List.copyOf(unique.values()), List.copyOf(problems), locations, files.size());
        lastSnapshot = s;
        return s;
    }

    private record Parsed(byte[] content, ManifestLoader.FileResult result) {
    }

    /** Parses {@code f}, or reuses the last result when its bytes are the same as at the last reload. */
    private ManifestLoader.FileResult parse(Path f, Path shown, Map<Path, Parsed> parsedNow) {
        byte[] content;
        try {
            content = Files.readAllBytes(f);
        } catch (IOException e) {
            return loader.load(f, shown); // reports the read error as the file's problem
        }
        Parsed before = parsed.get(f);
        ManifestLoader.FileResult r = before != null && Arrays.equals(before.content(), content) ? before.result()
            : loader.load(content, shown);
        parsedNow.put(f, new Parsed(content, r));
        return r;
    }

    private Path shown(Path f) {
        return Files.isRegularFile(dir) ? f : dir.relativize(f);
    }

    /** Where each object was defined ({@code file:line}), for messages. */
    public Map<ObjectRef, String> locations() {
        return locations;
    }

    public Snapshot lastSnapshot() {
        return lastSnapshot;
    }

    public synchronized long reloads() {
        return reloads;
    }

    /** Starts watching the directory on a daemon thread; changes trigger a reload after {@code debounceMs}. */
    public synchronized void startWatching() throws IOException {
        if (thread != null) {
            return;
        }
        try {
            watch = dir.getFileSystem().newWatchService();
            registerAll(Files.isRegularFile(dir) ? dir.getParent() : dir);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(Level.WARNING, "no file notifications for " + dir + " (" + e + "); scanning once a second");
            watch = null;
        }
        thread = new Thread(this::watchLoop, "manifests-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void registerAll(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root, 8)) {
            for (Path d : s.filter(Files::isDirectory).toList()) {
                d.register(watch, ENTRY_CREATE, ENTRY_MODIFY, ENTRY_DELETE);
            }
        }
    }

    private void watchLoop() {
        while (!closed) {
            try {
                boolean changed;
                if (watch != null) {
                    WatchKey key = watch.poll(SCAN_INTERVAL_MS, TimeUnit.MILLISECONDS);
                    changed = key != null && drain(key);
                    if (changed) {
                        awaitQuiet();
                    }
                } else {
                    Thread.sleep(SCAN_INTERVAL_MS);
                    changed = false;
                }
                if (!changed) {
                    changed = !fingerprint(ManifestLoader.files(dir)).equals(currentFingerprint());
                }
                if (changed && !closed) {
                    reload();
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "reloading manifests from " + dir + " failed: " + e);
            }
        }
    }

    /** Drains events until none came for {@code debounceMs}, or {@link #MAX_COALESCE_MS} passed. */
    private void awaitQuiet() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_COALESCE_MS);
        while (debounceMs > 0) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return;
            }
            WatchKey more = watch.poll(Math.min(debounceMs, left), TimeUnit.MILLISECONDS);
            if (more == null) {
                return;
            }
            drain(more);
        }
    }

    private synchronized Map<Path, String> currentFingerprint() {
        return fingerprint;
    }

    private boolean drain(WatchKey key) {
        boolean any = false;
        for (WatchEvent<?> ev : key.pollEvents()) {
            any = true;
            if (ev.kind() == ENTRY_CREATE && ev.context() instanceof Path rel && key.watchable() instanceof Path d) {
                Path created = d.resolve(rel);
                if (Files.isDirectory(created)) {
                    try {
                        registerAll(created);
                    } catch (IOException e) {
                        LOG.log(Level.DEBUG, "cannot watch " + created, e);
                    }
                }
            }
        }
        key.reset();
        return any;
    }

    private static Map<Path, String> fingerprint(List<Path> files) {
        Map<Path, String> m = new HashMap<>();
        for (Path f : files) {
            try {
                m.put(f, Files.getLastModifiedTime(f).toMillis() + ":" + Files.size(f));
            } catch (IOException e) {
                m.put(f, "?");
            }
        }
        return m;
    }

    @Override
    public void close() {
        closed = true;
        if (watch != null) {
            try {
                watch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        if (thread != null) {
            thread.interrupt();
        }
    }
}
