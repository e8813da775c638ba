package io.sluice.perf.lab;

import java.util.ArrayList;
import java.util.List;

/** A small table rendered either as aligned plain text (terminal) or as a GitHub Markdown table. */
final class Table {
    private final String[] headers;
    private final boolean[] rightAligned;
    private final List<String[]> rows = new ArrayList<>();

    /** Headers; a header ending in {@code >} marks a right-aligned (numeric) column, the marker is dropped. */
    Table(String... headers) {
        this.headers = new String[headers.length];
        this.rightAligned = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            boolean right = headers[i].endsWith(">");
            this.rightAligned[i] = right;
            this.headers[i] = right ? headers[i].substring(0, headers[i].length() - 1) : headers[i];
        }
    }

    Table row(String... cells) {
        if (cells.length != headers.length) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table " + headers.length);
        }
        rows.add(cells.clone());
        return this;
    }

    String text(String indent) {
        int[] width = new int[headers.length];
        for (int i = 0; i < headers.length; i++) {
            width[i] = headers[i].length();
            for (String[] r : rows) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, indent, headers, width);
        for (String[] r : rows) {
            line(sb, indent, r, width);
        }
        return sb.toString();
    }

    private void line(StringBuilder sb, String indent, String[] cells, int[] width) {
        StringBuilder l = new StringBuilder(indent);
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                l.append("  ");
            }
            String pad = " ".repeat(width[i] - cells[i].length());
            l.append(rightAligned[i] ? pad + cells[i] : cells[i] + pad);
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }

    String markdown() {
        StringBuilder sb = new StringBuilder("|");
        for (String h : headers) {
            sb.append(' ').append(h).append(" |");
        }
        sb.append("\n|");
        for (boolean right : rightAligned) {
            sb.append(right ? " ---: |" : " --- |");
        }
        sb.append('\n');
        for (String[] r : rows) {
            sb.append('|');
            for (String c : r) {
                sb.append(' ').append(c.replace("|", "\\|")).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
