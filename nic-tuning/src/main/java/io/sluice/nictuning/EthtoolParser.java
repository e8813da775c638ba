package io.sluice.nictuning;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the human-readable output of {@code ethtool -i/-l/-g/-c/-x/-k} (ethtool 5.x and 6.x; older versions print
 * {@code 0} where newer ones print {@code n/a}, and both are read as "not available").
 */
final class EthtoolParser {
    static final int NA = -1;

    private static final Pattern FEATURE = Pattern.compile("^\\s*([A-Za-z0-9_-]+): (on|off)(?: \\[(\\w[^]]*)])?\\s*$");
    private static final Pattern RINGS_HEADER = Pattern.compile("with (\\d+) RX ring");
    private static final Pattern TABLE_ROW = Pattern.compile("^\\s*(\\d+):((?:\\s+\\d+)+)\\s*$");
    private static final Pattern KEY = Pattern.compile("^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})+$");

    private EthtoolParser() {
    }

    /** {@code ethtool -l}: -1 where not available. */
    record Channels(int maxRx, int maxTx, int maxOther, int maxCombined, int rx, int tx, int other, int combined) {
        /** Whether queues are configured as combined rx/tx pairs (most drivers) rather than separate counts. */
        boolean usesCombined() {
            return maxCombined > 0;
        }

        /** The most queues that can be configured. */
        int maxQueues() {
            if (usesCombined()) {
                return maxCombined;
            }
            if (maxRx > 0 && maxTx > 0) {
                return Math.min(maxRx, maxTx);
            }
            return Math.max(maxRx, maxTx);
        }

        /** The queues currently configured (receive side). */
        int currentQueues() {
            return usesCombined() ? combined + Math.max(rx, 0) : rx;
        }
    }

    /** {@code ethtool -g}: -1 where not available. */
    record Rings(int maxRx, int maxTx, int rx, int tx) {
    }

    /** {@code ethtool -x}: indirection table, key (empty if not shown) and hash function ("" if not shown). */
    record Rss(int[] table, byte[] key, String function, int rings) {
    }

    /** One line of {@code ethtool -k}. */
    record Feature(boolean on, boolean fixed) {
    }

    static Map<String, String> driverInfo(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return out;
    }

    static Channels channels(String text) {
        List<Map<String, Integer>> s = maxAndCurrent(text);
        Map<String, Integer> max = s.get(0);
        Map<String, Integer> cur = s.get(1);
        return new Channels(get(max, "rx"), get(max, "tx"), get(max, "other"), get(max, "combined"),
                get(cur, "rx"), get(cur, "tx"), get(cur, "other"), get(cur, "combined"));
    }

    static Rings rings(String text) {
        List<Map<String, Integer>> s = maxAndCurrent(text);
        return new Rings(get(s.get(0), "rx"), get(s.get(0), "tx"), get(s.get(1), "rx"), get(s.get(1), "tx"));
    }

    private static int get(Map<String, Integer> map, String key) {
        Integer v = map.get(key);
        return v == null || v == 0 ? NA : v;
    }

    /** The "Pre-set maximums" and "Current hardware settings" sections as label (lower case) to number. */
    private static List<Map<String, Integer>> maxAndCurrent(String text) {
        Map<String, Integer> max = new LinkedHashMap<>();
        Map<String, Integer> cur = new LinkedHashMap<>();
        Map<String, Integer> into = null;
        for (String line : text.split("\n")) {
            String t = line.trim();
            if (t.startsWith("Pre-set maximums")) {
                into = max;
            } else if (t.startsWith("Current hardware settings")) {
                into = cur;
            } else if (into != null) {
                int colon = t.indexOf(':');
                if (colon > 0) {
                    String label = t.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                    into.put(label, number(t.substring(colon + 1).trim()));
                }
            }
        }
        return List.of(max, cur);
    }

    private static int number(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return NA;
        }
    }

    /**
     * {@code ethtool -c} as ethtool -C parameter names: {@code adaptive-rx}, {@code adaptive-tx}, {@code rx-usecs},
     * ...; parameters shown as {@code n/a} are left out.
     */
    static Map<String, String> coalesce(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String t = line.trim();
            if (t.startsWith("Adaptive RX:")) {
                String[] w = t.split("\\s+"); // Adaptive RX: on TX: on
                if (w.length >= 3 && !w[2].equals("n/a")) {
                    out.put("adaptive-rx", w[2]);
                }
                if (w.length >= 5 && !w[4].equals("n/a")) {
                    out.put("adaptive-tx", w[4]);
                }
                continue;
            }
            if (t.startsWith("Coalesce parameters") || t.startsWith("CQE mode")) {
                continue;
            }
            int colon = t.indexOf(':');
            if (colon > 0) {
                String key = t.substring(0, colon).trim();
                String value = t.substring(colon + 1).trim();
                if (!value.isEmpty() && !value.equals("n/a") && !key.contains(" ")) {
                    out.put(key, value);
                }
            }
        }
        return out;
    }

    static Rss rss(String text) {
        List<Integer> table = new ArrayList<>();
        byte[] key = new byte[0];
        String function = "";
        int rings = NA;
        boolean inKey = false;
        boolean inFunction = false;
        for (String line : text.split("\n")) {
            String t = line.trim();
            Matcher header = RINGS_HEADER.matcher(t);
            if (t.startsWith("RX flow hash indirection table") && header.find()) {
                rings = Integer.parseInt(header.group(1));
                continue;
            }
            if (t.startsWith("RSS hash key")) {
                inKey = true;
                inFunction = false;
                continue;
            }
            if (t.startsWith("RSS hash function")) {
                inFunction = true;
                inKey = false;
                continue;
            }
            if (t.startsWith("RSS input transformation")) {
                inKey = false;
                inFunction = false;
                continue;
            }
            if (inKey) {
                if (KEY.matcher(t).matches()) {
                    key = HexFormat.ofDelimiter(":").parseHex(t);
                }
                inKey = false;
                continue;
            }
            if (inFunction) {
                int colon = t.indexOf(':');
                if (colon > 0 && t.substring(colon + 1).trim().equals("on")) {
                    function = t.substring(0, colon).trim();
                }
                continue;
            }
            Matcher row = TABLE_ROW.matcher(line);
            if (row.matches()) {
                int start = Integer.parseInt(row.group(1));
                if (start != table.size()) {
                    throw new IllegalArgumentException("indirection table row " + start + " out of order");
                }
                for (String v : row.group(2).trim().split("\\s+")) {
                    table.add(Integer.parseInt(v));
                }
            }
        }
        int[] entries = new int[table.size()];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = table.get(i);
        }
        return new Rss(entries, key, function, rings);
    }

    static Map<String, Feature> features(String text) {
        Map<String, Feature> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = FEATURE.matcher(line);
            if (m.matches()) {
                out.put(m.group(1), new Feature(m.group(2).equals("on"), "fixed".equals(m.group(3))));
            }
        }
        return out;
    }

    /** The {@code ethtool -k} long name of an {@code ethtool -K} short feature name. */
    static String featureLongName(String shortName) {
        return switch (shortName) {
            case "gro" -> "generic-receive-offload";
            case "lro" -> "large-receive-offload";
            case "tso" -> "tcp-segmentation-offload";
            case "gso" -> "generic-segmentation-offload";
            case "sg" -> "scatter-gather";
            case "rx" -> "rx-checksumming";
            case "tx" -> "tx-checksumming";
            case "rxhash" -> "receive-hashing";
            case "ntuple" -> "ntuple-filters";
            default -> shortName;
        };
    }

    /** Whether {@code table[i] == i % n} for every entry: what {@code ethtool -X equal n} and drivers' default give. */
    static boolean isEqualSpread(int[] table, int n) {
        if (n <= 0 || table.length == 0) {
            return false;
        }
        for (int i = 0; i < table.length; i++) {
            if (table[i] != i % n) {
                return false;
            }
        }
        return true;
    }

    /** The number of entries per queue (index = queue), up to the highest queue used. */
    static int[] weights(int[] table) {
        int max = -1;
        for (int q : table) {
            max = Math.max(max, q);
        }
        int[] w = new int[max + 1];
        for (int q : table) {
            w[q]++;
        }
        return w;
    }

    /** A table of {@code size} entries with queues in proportion to {@code weights}, in contiguous runs. */
    static int[] weightedTable(int size, int[] weights) {
        long sum = 0;
        for (int w : weights) {
            sum += w;
        }
        if (sum == 0) {
            throw new IllegalArgumentException("all RSS weights are zero");
        }
        int[] table = new int[size];
        long cumulative = 0;
        int queue = -1;
        for (int i = 0; i < size; i++) {
            while ((long) i * sum >= cumulative * size) {
                queue++;
                cumulative += weights[queue];
            }
            table[i] = queue;
        }
        return table;
    }
}
