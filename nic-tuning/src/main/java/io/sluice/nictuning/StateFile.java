package io.sluice.nictuning;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code apply} changed, with each setting's value before the first change, so that {@code revert} can restore
 * the node. Saved before each change is made (a crash mid-apply still leaves a complete record) and deleted when
 * {@code revert} has restored everything. Re-applying keeps the first recorded original.
 *
 * <pre>
 * {"format": "sluice-nic-tuning-state", "version": 1,
 *  "changes": [ {"setting": {...}, "original": "0-31", "applied": "8"}, ... ]}   in the order applied
 * </pre>
 */
final class StateFile {
    static final String FORMAT = "sluice-nic-tuning-state";
    static final String DEFAULT_PATH = "/var/lib/sluice/nic-tuning-state.json";

    /** One change: the setting, its value before nic-tuning touched it, and what was written. */
    record Entry(Setting setting, String original, String applied) {
    }

    private final Path path;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private StateFile(Path path) {
        this.path = path;
    }

    /** Loads the state file; a missing file is an empty state. */
    static StateFile load(Path path) throws IOException {
        StateFile state = new StateFile(path);
        if (!Files.exists(path)) {
            return state;
        }
        try {
            Map<String, Object> root = Json.parseObject(Files.readString(path));
            if (!FORMAT.equals(root.get("format"))) {
                throw new IllegalArgumentException("not a nic-tuning state file");
            }
            for (Map<String, Object> e : Json.objectArray(root, "changes")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> s = (Map<String, Object>) e.get("setting");
                if (s == null) {
                    throw new IllegalArgumentException("change without \"setting\"");
                }
                Setting setting = Setting.fromJson(s);
                state.entries.put(setting.key(),
                        new Entry(setting, Json.string(e, "original"), Json.string(e, "applied")));
            }
        } catch (IllegalArgumentException e) {
            throw new IOException("invalid state file " + path + ": " + e.getMessage(), e);
        }
        return state;
    }

    Path path() {
        return path;
    }

    Entry get(String key) {
        return entries.get(key);
    }

    void put(Entry entry) {
        entries.put(entry.setting().key(), entry);
    }

    void remove(String key) {
        entries.remove(key);
    }

    List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Writes the state, or deletes the file when nothing is recorded. */
    void save() throws IOException {
        if (entries.isEmpty()) {
            Files.deleteIfExists(path);
            return;
        }
        List<Object> changes = new ArrayList<>();
        for (Entry e : entries.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("setting", e.setting().toJson());
            m.put("original", e.original());
            m.put("applied", e.applied());
            changes.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("changes", changes);
        HostFs.writeAtomically(path, Json.write(root));
    }
}
