package io.sluice.perf.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The raw measurements of one lab run, as perf/lab.sh appends them to {@code results.tsv}.
 *
 * <p>Each line is {@code phase TAB target TAB run TAB key TAB value}: phase {@code max} (wrk at full
 * speed), {@code lat} (fixed rate) or {@code status} (how a target fared: value {@code ok} or a reason);
 * target a proxy name or {@code origin}; run the 1-based run number (0 for status). Numeric values are
 * kept per run so that medians are taken here, over every run of the same lab invocation.
 */
final class LabResults {

    static final String MAX = "max";
    static final String LAT = "lat";
    static final String STATUS = "status";

    /** phase → target → key → values in run order. */
    private final Map<String, Map<String, Map<String, List<Double>>>> values = new LinkedHashMap<>();
    private final Map<String, String> status = new LinkedHashMap<>();

    static LabResults read(Path tsv) throws IOException {
        return parse(Files.readAllLines(tsv, StandardCharsets.UTF_8));
    }

    static LabResults parse(List<String> lines) {
        LabResults r = new LabResults();
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", 5);
            if (f.length != 5) {
                throw new IllegalArgumentException("results line does not have 5 tab-separated fields: " + line);
            }
            String phase = f[0];
            String target = f[1];
            if (STATUS.equals(phase)) {
                r.status.put(target, f[4]);
                continue;
            }
            double v;
            try {
                v = Double.parseDouble(f[4]);
            } catch (NumberFormatException e) {
                continue; // a measurement the script could not parse: leave it out rather than guess
            }
            r.values.computeIfAbsent(phase, k -> new LinkedHashMap<>())
                .computeIfAbsent(target, k -> new LinkedHashMap<>())
                .computeIfAbsent(f[3], k -> new ArrayList<>())
                .add(v);
        }
        return r;
    }

    /** All values of {@code key} for {@code target} in {@code phase}, one per run; empty when none. */
    List<Double> values(String phase, String target, String key) {
        return values.getOrDefault(phase, Map.of()).getOrDefault(target, Map.of()).getOrDefault(key, List.of());
    }

    /** Median over runs, or NaN when nothing was measured. */
    double median(String phase, String target, String key) {
        return median(values(phase, target, key));
    }

    double min(String phase, String target, String key) {
        return values(phase, target, key).stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    double max(String phase, String target, String key) {
        return values(phase, target, key).stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    double sum(String phase, String target, String key) {
        return values(phase, target, key).stream().mapToDouble(Double::doubleValue).sum();
    }

    int runs(String phase, String target, String key) {
        return values(phase, target, key).size();
    }

    /** {@code ok}, a reason the target was not (fully) measured, or null when the script said nothing. */
    String status(String target) {
        return status.get(target);
    }

    static double median(List<Double> xs) {
        Objects.requireNonNull(xs, "xs");
        if (xs.isEmpty()) {
            return Double.NaN;
        }
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        int m = a.length / 2;
        return a.length % 2 == 1 ? a[m] : (a[m - 1] + a[m]) / 2;
    }
}
