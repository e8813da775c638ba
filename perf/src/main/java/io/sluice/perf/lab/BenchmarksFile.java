package io.sluice.perf.lab;

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
        String body = BEGIN + "\n" + (section.endsWith("\n") ? section : section + "\n") + END;
        if (doc == null) {
            return "# Sluice benchmarks\n\n## Load lab\n\n" + body + "\n";
        }
        int begin = doc.indexOf(BEGIN);
        int end = doc.indexOf(END);
        if (begin < 0 || end < begin) {
            String sep = doc.endsWith("\n") ? "\n" : "\n\n";
            return doc + sep + "## Load lab\n\n" + body + "\n";
        }
        return doc.substring(0, begin) + body + doc.substring(end + END.length());
    }
}
