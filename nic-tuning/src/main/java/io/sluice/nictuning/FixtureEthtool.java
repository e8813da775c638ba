package io.sluice.nictuning;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replays captured ethtool output, so that inspect and plan run on a fixture tree ({@code --ethtool-fixtures DIR}).
 *
 * <p>Layout: {@code DIR/<device>/<letter>.txt} holds the output of {@code ethtool -<letter> <device>} for the queries
 * nic-tuning runs ({@code i l g c x k}); {@code DIR/<device>/<letter>.err} instead holds the error a query fails with
 * ("netlink error: Operation not supported"). A missing file reads as "Operation not supported".
 *
 * <p>Set commands ({@code -L -G -C -K -X}) edit the captured output in place, the way the driver would change what
 * the next query shows, so that apply, verify and revert can be exercised on a <em>copy</em> of a fixture tree.
 * {@code DIR/<device>/set-<LETTER>.err}, if present, makes that set command fail with its content instead. Values
 * are checked against the captured maximums, a channel change re-spreads a default RSS table and is refused while a
 * user-set table uses a queue that would go away, and a {@code [fixed]} feature cannot change: as the kernel does.
 */
final class FixtureEthtool implements Ethtool {
    private static final Pattern TABLE_ROW = Pattern.compile("^\\s*\\d+:(?:\\s+\\d+)+\\s*$");

    private final Path dir;

    FixtureEthtool(Path dir) {
        this.dir = dir;
    }

    @Override
    public Result run(String... args) {
        if (args.length < 2 || !args[0].startsWith("-") || args[0].length() != 2) {
            return new Result(1, "", "fixture ethtool: unsupported invocation " + String.join(" ", args));
        }
        char letter = args[0].charAt(1);
        String device = args[1];
        Path deviceDir = dir.resolve(device);
        if (Character.isLowerCase(letter)) {
            Path err = deviceDir.resolve(letter + ".err");
            if (Files.exists(err)) {
                return new Result(1, "", read(err));
            }
            Path out = deviceDir.resolve(letter + ".txt");
            if (!Files.exists(out)) {
                return new Result(1, "", "netlink error: Operation not supported");
            }
            return new Result(0, read(out), "");
        }
        Path err = deviceDir.resolve("set-" + letter + ".err");
        if (Files.exists(err)) {
            return new Result(1, "", read(err));
        }
        List<String> params = List.of(args).subList(2, args.length);
        try {
            return switch (letter) {
                case 'L' -> setChannels(deviceDir, params);
                case 'G' -> setMaxAndCurrent(deviceDir.resolve("g.txt"), params);
                case 'C' -> setCoalesce(deviceDir.resolve("c.txt"), params);
                case 'K' -> setFeatures(deviceDir.resolve("k.txt"), params);
                case 'X' -> setIndirection(deviceDir.resolve("x.txt"), params);
                default -> new Result(1, "", "fixture ethtool: unsupported option -" + letter);
            };
        } catch (IOException e) {
            return new Result(1, "", "fixture ethtool: " + e.getMessage());
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    private Result setChannels(Path deviceDir, List<String> params) throws IOException {
        Path file = deviceDir.resolve("l.txt");
        if (!Files.exists(file)) {
            return new Result(1, "", "netlink error: Operation not supported");
        }
        EthtoolParser.Channels before = EthtoolParser.channels(Files.readString(file));
        Path xFile = deviceDir.resolve("x.txt");
        int newQueues = before.currentQueues();
        for (int i = 0; i + 1 < params.size(); i += 2) {
            String name = params.get(i);
            if (name.equals("combined") || (name.equals("rx") && !before.usesCombined())) {
                newQueues = Integer.parseInt(params.get(i + 1));
            }
        }
        if (Files.exists(xFile)) {
            EthtoolParser.Rss rss = EthtoolParser.rss(Files.readString(xFile));
            boolean userSet = !EthtoolParser.isEqualSpread(rss.table(), rss.rings());
            for (int q : rss.table()) {
                if (userSet && q >= newQueues) {
                    return new Result(1, "", "netlink error: Invalid argument (RSS table uses queue " + q + ")");
                }
            }
        }
        Result r = setMaxAndCurrent(file, params);
        if (r.ok() && Files.exists(xFile)) {
            EthtoolParser.Rss rss = EthtoolParser.rss(Files.readString(xFile));
            int[] table = rss.table();
            if (EthtoolParser.isEqualSpread(table, rss.rings())) {
                for (int i = 0; i < table.length; i++) {
                    table[i] = i % newQueues;
                }
            }
            Files.writeString(xFile, withTable(Files.readString(xFile), table, newQueues));
        }
        return r;
    }

    /** ethtool -L / -G: {@code name value} pairs edit the "Current hardware settings" section. */
    private static Result setMaxAndCurrent(Path file, List<String> params) throws IOException {
        if (!Files.exists(file)) {
            return new Result(1, "", "netlink error: Operation not supported");
        }
        List<String> lines = new ArrayList<>(List.of(Files.readString(file).split("\n", -1)));
        for (int i = 0; i + 1 < params.size(); i += 2) {
            String label = switch (params.get(i)) {
                case "rx" -> "RX";
                case "tx" -> "TX";
                case "other" -> "Other";
                case "combined" -> "Combined";
                default -> null;
            };
            if (label == null) {
                return new Result(1, "", "ethtool: bad command line argument(s)");
            }
            int value = Integer.parseInt(params.get(i + 1));
            int maxLine = find(lines, "Pre-set maximums", label);
            int curLine = find(lines, "Current hardware settings", label);
            if (maxLine < 0 || curLine < 0) {
                return new Result(1, "", "netlink error: Operation not supported");
            }
            String max = lines.get(maxLine).substring(lines.get(maxLine).indexOf(':') + 1).trim();
            if (max.equals("n/a") || max.equals("0")) {
                return new Result(1, "", "netlink error: Operation not supported");
            }
            if (value > Integer.parseInt(max) || value < 0) {
                return new Result(1, "", "netlink error: Invalid argument (" + label + " " + value
                        + " exceeds maximum " + max + ")");
            }
            String line = lines.get(curLine);
            lines.set(curLine, line.substring(0, line.indexOf(':') + 1) + tabsFor(label) + value);
        }
        Files.writeString(file, String.join("\n", lines));
        return new Result(0, "", "");
    }

    private static String tabsFor(String label) {
        return label.length() >= 7 ? "\t" : "\t\t";
    }

    /** Index of the line {@code label:} in the section after the line starting with {@code section}; -1 if none. */
    private static int find(List<String> lines, String section, String label) {
        boolean in = false;
        for (int i = 0; i < lines.size(); i++) {
            String t = lines.get(i).trim();
            if (t.startsWith(section)) {
                in = true;
            } else if (in && t.endsWith(":") && !t.contains(" ")) {
                in = false;
            } else if (in && t.startsWith(label + ":")) {
                return i;
            }
        }
        return -1;
    }

    private static Result setCoalesce(Path file, List<String> params) throws IOException {
        if (!Files.exists(file)) {
            return new Result(1, "", "netlink error: Operation not supported");
        }
        List<String> lines = new ArrayList<>(List.of(Files.readString(file).split("\n", -1)));
        for (int i = 0; i + 1 < params.size(); i += 2) {
            String name = params.get(i);
            String value = params.get(i + 1);
            boolean done = false;
            for (int l = 0; l < lines.size() && !done; l++) {
                String line = lines.get(l);
                if ((name.equals("adaptive-rx") || name.equals("adaptive-tx")) && line.startsWith("Adaptive RX:")) {
                    String[] w = line.trim().split("\\s+");
                    String rx = name.equals("adaptive-rx") ? value : w[2];
                    String tx = name.equals("adaptive-tx") ? value : (w.length > 4 ? w[4] : "n/a");
                    lines.set(l, "Adaptive RX: " + rx + "  TX: " + tx);
                    done = true;
                } else if (line.startsWith(name + ":")) {
                    if (line.substring(name.length() + 1).trim().equals("n/a")) {
                        return new Result(1, "", "netlink error: Operation not supported");
                    }
                    lines.set(l, name + ": " + value);
                    done = true;
                }
            }
            if (!done) {
                return new Result(1, "", "netlink error: Operation not supported");
            }
        }
        Files.writeString(file, String.join("\n", lines));
        return new Result(0, "", "");
    }

    private static Result setFeatures(Path file, List<String> params) throws IOException {
        if (!Files.exists(file)) {
            return new Result(1, "", "Cannot get device feature names: Operation not supported");
        }
        List<String> lines = new ArrayList<>(List.of(Files.readString(file).split("\n", -1)));
        for (int i = 0; i + 1 < params.size(); i += 2) {
            String longName = EthtoolParser.featureLongName(params.get(i));
            String value = params.get(i + 1);
            boolean found = false;
            for (int l = 0; l < lines.size(); l++) {
                String line = lines.get(l);
                if (line.trim().startsWith(longName + ":")) {
                    found = true;
                    boolean isOn = line.contains(": on");
                    if (line.contains("[fixed]") && isOn != value.equals("on")) {
                        return new Result(1, "Actual changes:\n" + longName + ": " + (isOn ? "on" : "off")
                                + " [requested " + value + "]\n", "Could not change any device features");
                    }
                    int colon = line.indexOf(':');
                    lines.set(l, line.substring(0, colon + 1) + " " + value + (line.contains("[fixed]") ? " [fixed]"
                            : ""));
                }
            }
            if (!found) {
                return new Result(1, "", "ethtool: bad command line argument(s)");
            }
        }
        Files.writeString(file, String.join("\n", lines));
        return new Result(0, "", "");
    }

    private static Result setIndirection(Path file, List<String> params) throws IOException {
        if (!Files.exists(file)) {
            return new Result(1, "", "Cannot get RX ring count: Operation not supported");
        }
        String text = Files.readString(file);
        EthtoolParser.Rss rss = EthtoolParser.rss(text);
        int size = rss.table().length;
        int[] table;
        if (params.size() == 1 && params.get(0).equals("default")) {
            table = new int[size];
            for (int i = 0; i < size; i++) {
                table[i] = i % rss.rings();
            }
        } else if (params.size() == 2 && params.get(0).equals("equal")) {
            int n = Integer.parseInt(params.get(1));
            if (n < 1 || n > rss.rings()) {
                return new Result(1, "", "Invalid argument: equal " + n + " with " + rss.rings() + " RX rings");
            }
            table = new int[size];
            for (int i = 0; i < size; i++) {
                table[i] = i % n;
            }
        } else if (!params.isEmpty() && params.get(0).equals("weight")) {
            int[] weights = new int[params.size() - 1];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = Integer.parseInt(params.get(i + 1));
            }
            if (weights.length > rss.rings()) {
                return new Result(1, "", "Invalid argument: " + weights.length + " weights with " + rss.rings()
                        + " RX rings");
            }
            table = EthtoolParser.weightedTable(size, weights);
        } else {
            return new Result(1, "", "ethtool: bad command line argument(s)");
        }
        Files.writeString(file, withTable(text, table, rss.rings()));
        return new Result(0, "", "");
    }

    /** The -x output with its table rows (and ring count) replaced, in ethtool's 8-per-row layout. */
    private static String withTable(String text, int[] table, int rings) {
        StringBuilder sb = new StringBuilder();
        boolean tableWritten = false;
        for (String line : text.split("\n", -1)) {
            if (line.startsWith("RX flow hash indirection table")) {
                Matcher m = Pattern.compile("with \\d+ RX ring").matcher(line);
                sb.append(m.replaceFirst("with " + rings + " RX ring")).append('\n');
                continue;
            }
            if (TABLE_ROW.matcher(line).matches()) {
                if (!tableWritten) {
                    for (int i = 0; i < table.length; i += 8) {
                        sb.append(String.format("%5d:", i));
                        for (int j = i; j < Math.min(i + 8, table.length); j++) {
                            sb.append(String.format("%6d", table[j]));
                        }
                        sb.append('\n');
                    }
                    tableWritten = true;
                }
                continue;
            }
            sb.append(line).append('\n');
        }
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
