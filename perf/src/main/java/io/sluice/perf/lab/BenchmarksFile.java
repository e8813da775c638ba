package io.sluice.perf.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Replaces the generated lab section of BENCHMARKS.md and leaves every other line as it was.
 *
 * <p>The section lies between the lines {@value #BEGIN} and {@value #END}; both markers are kept.
 * Hand-written text (method discussion, profiles, JMH results) lives outside them.
 */
final class BenchmarksFile {
    static final String BEGIN = "<!-- lab:begin -->";
    static final String END = "<!-- lab:end -->";

    private BenchmarksFile() {
    }

    /**
     * The document with its lab section replaced by {@code section}; a missing document becomes a minimal
     * one, and a document without markers gets a lab section appended.
     */
    static String withLabSection(String doc, String section) {
        return withSection(doc, section, BEGIN, END, "## Load lab\n\n");
    }

    /**
     * The document with the text between {@code begin} and {@code end} replaced by {@code section}; when the
     * markers are missing, {@code preamble} (a heading and any text that should precede the markers) and the
     * marked section are appended, and a missing document becomes a minimal one.
     */
    static String withSection(String doc, String section, String begin, String end, String preamble) {
        String body = begin + "\n" + (section.endsWith("\n") ? section : section + "\n") + end;
        if (doc == null) {
            return "# Sluice benchmarks\n\n" + preamble + body + "\n";
        }
        int b = doc.indexOf(begin);
        int e = doc.indexOf(end);
        if (b < 0 || e < b) {
            String sep = doc.endsWith("\n") ? "\n" : "\n\n";
            return doc + sep + preamble + body + "\n";
        }
        return doc.substring(0, b) + body + doc.substring(e + end.length());
    }

    /** Rewrites {@code file} with its section between the markers replaced (see {@link #withSection}), atomically. */
    static void update(Path file, String section, String begin, String end, String preamble) throws IOException {
        String doc = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : null;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, withSection(doc, section, begin, end, preamble), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
