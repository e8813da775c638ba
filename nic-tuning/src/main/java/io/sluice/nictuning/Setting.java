package io.sluice.nictuning;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One value the plan sets: a sysfs/procfs file or an ethtool parameter. A setting knows how to read its current value,
 * how to write a value, and whether a current value already satisfies the plan; it serialises to the state file so
 * that {@code revert} can restore it without the plan that made it.
 */
sealed interface Setting permits Setting.FileSetting, Setting.EthtoolSetting {

    /** Stable identity, unique within a plan; the state file is keyed by it. */
    String key();

    /** Short human description for tables. */
    String label();

    /** The planned value. */
    String desired();

    /** Why the plan sets it. */
    String why();

    Reading read(Host host);

    void write(Host host, String value) throws SettingException;

    /** Whether {@code current} already meets the plan. */
    boolean satisfied(String current);

    /** The value to write when {@code current} does not meet the plan; the planned value unless a format says. */
    default String target(String current) {
        return desired();
    }

    /** Whether two values of this setting mean the same (used to see if a revert is needed). */
    boolean same(String a, String b);

    Map<String, Object> toJson();

    /** The sysfs/procfs root and the ethtool runner settings act on. */
    record Host(HostFs fs, Ethtool ethtool) {
    }

    /**
     * A current value. {@code value} is null when it cannot be read; {@code unsupported}, when non-null, says why the
     * setting cannot be read or changed on this host. {@code restoreValue} is what revert should write to get this
     * state back (usually {@code value}).
     */
    record Reading(String value, String restoreValue, String unsupported) {
        static Reading of(String value) {
            return new Reading(value, value, null);
        }

        static Reading unsupported(String why) {
            return new Reading(null, null, why);
        }
    }

    /** Why a write failed. */
    final class SettingException extends Exception {
        enum Kind { UNSUPPORTED, PERMISSION, FAILED }

        private final Kind kind;

        SettingException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        Kind kind() {
            return kind;
        }
    }

    static Setting fromJson(Map<String, Object> json) {
        String type = Json.string(json, "type");
        return switch (type) {
            case "file" -> new FileSetting(Json.string(json, "path"),
                    FileSetting.Format.valueOf(Json.string(json, "format")), Json.string(json, "desired"),
                    Json.string(json, "label"), "");
            case "ethtool" -> new EthtoolSetting(Json.string(json, "device"),
                    EthtoolSetting.Group.valueOf(Json.string(json, "group")), Json.string(json, "param"),
                    Json.string(json, "desired"), Json.string(json, "label"), "");
            default -> throw new IllegalArgumentException("unknown setting type " + type);
        };
    }

    /** A sysfs or procfs file. */
    record FileSetting(String path, Format format, String desired, String label, String why) implements Setting {
        /** How values of the file compare. */
        enum Format {
            /** A CPU list ({@code smp_affinity_list}): compared as sets. */
            CPULIST,
            /** A hexadecimal CPU mask ({@code rps_cpus}, {@code xps_cpus}): compared as sets. */
            CPUMASK,
            /** Words: compared with runs of whitespace made single spaces. */
            TEXT,
            /** An integer that the plan wants at least this large: a larger current value is left alone. */
            AT_LEAST,
            /**
             * Integers ({@code tcp_rmem}: min, default, max) each wanted at least this large: a larger current
             * component is kept when the others are raised.
             */
            AT_LEAST_EACH
        }

        @Override
        public String key() {
            return "file:" + path;
        }

        @Override
        public Reading read(Host host) {
            String v = host.fs().read(path);
            if (v == null) {
                return Reading.unsupported(path.startsWith("/proc/sys/")
                        ? "not present (this kernel or network namespace does not have it)" : "not present");
            }
            String value = normalize(v);
            if (host.fs().isReadOnly(path)) {
                return new Reading(value, value, "read-only here" + (path.startsWith("/proc/sys/net/")
                        ? " (the kernel lets only the initial network namespace change it)" : ""));
            }
            return Reading.of(value);
        }

        private String normalize(String v) {
            return switch (format) {
                case CPULIST -> CpuList.formatList(CpuList.parseList(v));
                case CPUMASK -> CpuList.formatMask(CpuList.parseMask(v));
                case TEXT, AT_LEAST, AT_LEAST_EACH -> v.trim().replaceAll("\\s+", " ");
            };
        }

        @Override
        public void write(Host host, String value) throws SettingException {
            try {
                host.fs().write(path, value);
            } catch (NoSuchFileException e) {
                throw new SettingException(SettingException.Kind.UNSUPPORTED, path + " is not present");
            } catch (IOException e) {
                String m = String.valueOf(e.getMessage());
                if (HostFs.isPermissionProblem(e)) {
                    throw new SettingException(SettingException.Kind.PERMISSION,
                            "permission denied writing " + path + ": run as root");
                }
                if (path.startsWith("/proc/irq/") && m.contains("Input/output error")) {
                    throw new SettingException(SettingException.Kind.UNSUPPORTED,
                            path + ": the kernel manages this IRQ's affinity (managed interrupt); it cannot be set");
                }
                throw new SettingException(SettingException.Kind.FAILED, "writing '" + value + "' to " + path
                        + " failed: " + m);
            }
        }

        @Override
        public boolean satisfied(String current) {
            if (current == null) {
                return false;
            }
            if (format == Format.AT_LEAST || format == Format.AT_LEAST_EACH) {
                long[] cur = numbers(current);
                long[] want = numbers(desired);
                if (cur == null || want == null || cur.length != want.length) {
                    return false;
                }
                for (int i = 0; i < cur.length; i++) {
                    if (cur[i] < want[i]) {
                        return false;
                    }
                }
                return true;
            }
            return same(current, desired);
        }

        @Override
        public String target(String current) {
            long[] cur = current == null ? null : numbers(current);
            long[] want = numbers(desired);
            if (format != Format.AT_LEAST_EACH || cur == null || want == null || cur.length != want.length) {
                return desired;
            }
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < want.length; i++) {
                sb.append(i == 0 ? "" : " ").append(Math.max(cur[i], want[i]));
            }
            return sb.toString();
        }

        private static long[] numbers(String text) {
            String[] words = text.trim().split("\\s+");
            long[] out = new long[words.length];
            try {
                for (int i = 0; i < words.length; i++) {
                    out[i] = Long.parseLong(words[i]);
                }
            } catch (NumberFormatException e) {
                return null;
            }
            return out;
        }

        @Override
        public boolean same(String a, String b) {
            if (a == null || b == null) {
                return a == b;
            }
            try {
                return normalize(a).equals(normalize(b));
            } catch (IllegalArgumentException e) {
                return a.equals(b);
            }
        }

        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", "file");
            m.put("path", path);
            m.put("format", format.name());
            m.put("desired", desired);
            m.put("label", label);
            return m;
        }
    }

    /** An ethtool parameter of one device. */
    record EthtoolSetting(String device, Group group, String param, String desired, String label, String why)
            implements Setting {
        /** The query and set options of each kind of parameter. */
        enum Group {
            CHANNELS("-l", "-L"), RINGS("-g", "-G"), COALESCE("-c", "-C"), FEATURE("-k", "-K"), RSS("-x", "-X");

            final String query;
            final String set;

            Group(String query, String set) {
                this.query = query;
                this.set = set;
            }
        }

        @Override
        public String key() {
            return "ethtool:" + device + ":" + group.name().toLowerCase(Locale.ROOT) + ":" + param;
        }

        @Override
        public Reading read(Host host) {
            Ethtool.Result r = host.ethtool().run(group.query, device);
            if (!r.ok()) {
                return Reading.unsupported("ethtool " + group.query + " " + device + ": " + r.message());
            }
            String out = r.stdout();
            return switch (group) {
                case CHANNELS -> {
                    EthtoolParser.Channels c = EthtoolParser.channels(out);
                    int max = switch (param) {
                        case "rx" -> c.maxRx();
                        case "tx" -> c.maxTx();
                        case "other" -> c.maxOther();
                        default -> c.maxCombined();
                    };
                    int cur = switch (param) {
                        case "rx" -> c.rx();
                        case "tx" -> c.tx();
                        case "other" -> c.other();
                        default -> c.combined();
                    };
                    yield max == EthtoolParser.NA ? Reading.unsupported(device + " has no " + param + " channels")
                            : Reading.of(Integer.toString(Math.max(cur, 0)));
                }
                case RINGS -> {
                    EthtoolParser.Rings g = EthtoolParser.rings(out);
                    int max = param.equals("rx") ? g.maxRx() : g.maxTx();
                    int cur = param.equals("rx") ? g.rx() : g.tx();
                    yield max == EthtoolParser.NA ? Reading.unsupported(device + " has no " + param + " ring size")
                            : Reading.of(Integer.toString(cur));
                }
                case COALESCE -> {
                    String v = EthtoolParser.coalesce(out).get(param);
                    yield v == null ? Reading.unsupported("the driver does not support coalescing parameter " + param)
                            : Reading.of(v);
                }
                case FEATURE -> {
                    EthtoolParser.Feature f = EthtoolParser.features(out).get(EthtoolParser.featureLongName(param));
                    if (f == null) {
                        yield Reading.unsupported(device + " has no feature " + param);
                    }
                    String v = f.on() ? "on" : "off";
                    yield f.fixed() ? new Reading(v, v, param + " is fixed " + v + " by the driver") : Reading.of(v);
                }
                case RSS -> {
                    EthtoolParser.Rss rss = EthtoolParser.rss(out);
                    if (rss.table().length == 0) {
                        yield Reading.unsupported(device + " shows no RSS indirection table");
                    }
                    String v = describeTable(rss.table());
                    // A table equal to the driver default goes back to "default", so the driver keeps re-spreading
                    // it when channels change (an explicit table would pin it).
                    String restore = EthtoolParser.isEqualSpread(rss.table(), rss.rings()) ? "default" : v;
                    yield new Reading(v, restore, null);
                }
            };
        }

        /** {@code equal N} when the table is {@code i % N}, else {@code weight w0 w1 ...} (entries per queue). */
        static String describeTable(int[] table) {
            int[] weights = EthtoolParser.weights(table);
            if (EthtoolParser.isEqualSpread(table, weights.length)) {
                return "equal " + weights.length;
            }
            StringBuilder sb = new StringBuilder("weight");
            for (int w : weights) {
                sb.append(' ').append(w);
            }
            return sb.toString();
        }

        @Override
        public void write(Host host, String value) throws SettingException {
            List<String> args = new ArrayList<>();
            args.add(group.set);
            args.add(device);
            if (group == Group.RSS) {
                args.addAll(List.of(value.trim().split("\\s+")));
            } else {
                args.add(param);
                args.add(value);
            }
            Ethtool.Result r = host.ethtool().run(args.toArray(String[]::new));
            if (r.ok()) {
                return;
            }
            String command = "ethtool " + String.join(" ", args);
            if (r.permissionDenied()) {
                throw new SettingException(SettingException.Kind.PERMISSION,
                        command + ": " + r.message() + " (needs root / CAP_NET_ADMIN)");
            }
            if (r.unsupported()) {
                throw new SettingException(SettingException.Kind.UNSUPPORTED, command + ": " + r.message());
            }
            throw new SettingException(SettingException.Kind.FAILED, command + " failed: " + r.message());
        }

        @Override
        public boolean satisfied(String current) {
            return same(current, desired);
        }

        @Override
        public boolean same(String a, String b) {
            if (a == null || b == null) {
                return a == b;
            }
            return a.trim().replaceAll("\\s+", " ").equals(b.trim().replaceAll("\\s+", " "));
        }

        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", "ethtool");
            m.put("device", device);
            m.put("group", group.name());
            m.put("param", param);
            m.put("desired", desired);
            m.put("label", label);
            return m;
        }
    }
}
