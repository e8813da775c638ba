package io.sluice.dataplane.ops;

/** Just enough JSON writing for the admin endpoints (no dependency for it). */
final class Json {
    private final StringBuilder b = new StringBuilder(4096);
    private boolean needComma;

    Json obj() {
        comma();
        b.append('{');
        needComma = false;
        return this;
    }

    Json end() {
        b.append('}');
        needComma = true;
        return this;
    }

    Json arr() {
        comma();
        b.append('[');
        needComma = false;
        return this;
    }

    Json endArr() {
        b.append(']');
        needComma = true;
        return this;
    }

    Json key(String k) {
        comma();
        str(k);
        b.append(':');
        needComma = false;
        return this;
    }

    Json val(String v) {
        comma();
        if (v == null) {
            b.append("null");
        } else {
            str(v);
        }
        needComma = true;
        return this;
    }

    Json val(long v) {
        comma();
        b.append(v);
        needComma = true;
        return this;
    }

    Json val(double v) {
        comma();
        b.append(Double.isFinite(v) ? Double.toString(v) : "null");
        needComma = true;
        return this;
    }

    Json val(boolean v) {
        comma();
        b.append(v);
        needComma = true;
        return this;
    }

    Json field(String k, String v) {
        return key(k).val(v);
    }

    Json field(String k, long v) {
        return key(k).val(v);
    }

    Json field(String k, double v) {
        return key(k).val(v);
    }

    Json field(String k, boolean v) {
        return key(k).val(v);
    }

    private void comma() {
        if (needComma) {
            b.append(',');
            needComma = false;
        }
    }

    private void str(String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&') { // also safe inside an HTML page
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    @Override
    public String toString() {
        return b.toString();
    }
}
