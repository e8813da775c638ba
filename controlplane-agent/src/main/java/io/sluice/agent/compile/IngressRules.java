package io.sluice.agent.compile;

import java.util.Locale;

/**
 * Kubernetes' validation of Ingress hosts and paths, as the API server applies it, plus what Sluice needs on top:
 * used for objects from a manifests directory (which no API server has checked) and as a defence for cluster objects.
 */
public final class IngressRules {
    /** The path type Sluice gives {@code ImplementationSpecific}: documented in the README. */
    public static final String IMPLEMENTATION_SPECIFIC = "ImplementationSpecific";
    public static final String EXACT = "Exact";
    public static final String PREFIX = "Prefix";

    private static final String[] INVALID_SEQUENCES = {"//", "/./", "/../", "%2f", "%2F"};
    private static final String[] INVALID_SUFFIXES = {"/..", "/."};
    private static final String REGEX_CHARS = "^$()[]{}*+|\\";

    private IngressRules() {
    }

    /**
     * Checks a rule host. Returns null when valid: empty (any host), a lower-case DNS-1123 subdomain, or {@code *.}
     * followed by one, the wildcard standing for exactly one label. Else the reason.
     */
    public static String checkHost(String host) {
        if (host == null || host.isEmpty()) {
            return null;
        }
        boolean wildcard = host.startsWith("*.");
        int from = wildcard ? 2 : 0;
        int n = host.length();
        if (host.indexOf('*', from) >= 0) {
            return "'*' is allowed only as the whole first label (*.example.com)";
        }
        if (n - from > 253) {
            return "longer than 253 characters";
        }
        // Walks the labels in place: this runs for every rule of every Ingress, often in a JVM that has not compiled
        // it yet, so no split(), no lower-case copy unless the name has upper-case or non-ASCII characters.
        for (int i = from; i < n; i++) {
            char c = host.charAt(i);
            if ((c >= 'A' && c <= 'Z') || c >= 0x80) {
                String rest = host.substring(from);
                if (!rest.equals(rest.toLowerCase(Locale.ROOT))) {
                    return "must be lower case";
                }
                break;
            }
        }
        int labels = 0;
        boolean allNumeric = true;
        int start = from;
        while (true) {
            int dot = host.indexOf('.', start);
            int end = dot < 0 ? n : dot;
            if (end == start) {
                return "has an empty label";
            }
            if (end - start > 63) {
                return "label '" + host.substring(start, end) + "' is longer than 63 characters";
            }
            for (int i = start; i < end; i++) {
                char c = host.charAt(i);
                boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && c != '-') {
                    return "character '" + c + "' is not allowed in a DNS name";
                }
                if (c < '0' || c > '9') {
                    allNumeric = false;
                }
            }
            if (host.charAt(start) == '-' || host.charAt(end - 1) == '-') {
                return "label '" + host.substring(start, end) + "' must start and end with a letter or digit";
            }
            labels++;
            if (dot < 0) {
                break;
            }
            start = dot + 1;
        }
        if (allNumeric && labels == 4 && !wildcard) {
            return "must be a DNS name, not an IP address";
        }
        return null;
    }

    /**
     * Checks a path for its declared type. Returns null when valid, else the reason. Exact and Prefix follow the API
     * server's rules; ImplementationSpecific (matched as Prefix) additionally refuses regular expressions, which it
     * would otherwise match literally, except a trailing {@code /*} (see {@link #normalize}).
     */
    public static String checkPath(String path, String pathType) {
        boolean implementationSpecific = IMPLEMENTATION_SPECIFIC.equals(pathType);
        if (path == null || path.isEmpty()) {
            return implementationSpecific ? null : "must be an absolute path (start with '/')";
        }
        if (path.charAt(0) != '/') {
            return "must be an absolute path (start with '/')";
        }
        for (String seq : INVALID_SEQUENCES) {
            if (path.contains(seq)) {
                return "must not contain '" + seq + "'";
            }
        }
        for (String suffix : INVALID_SUFFIXES) {
            if (path.endsWith(suffix)) {
                return "cannot end with '" + suffix + "'";
            }
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return "has a space, control or non-ASCII character at index " + i + " (percent-encode it)";
            }
            if (c == '?' || c == '#') {
                return "must not contain a query or fragment ('" + c + "')";
            }
        }
        if (implementationSpecific) {
            String p = path.endsWith("/*") ? path.substring(0, path.length() - 2) : path;
            for (int i = 0; i < p.length(); i++) {
                if (REGEX_CHARS.indexOf(p.charAt(i)) >= 0) {
                    return "'" + p.charAt(i) + "' looks like a regular expression: Sluice matches ImplementationSpecific"
                        + " paths as Prefix, literally (a trailing '/*' is allowed)";
                }
            }
        }
        return null;
    }

    /**
     * The path a valid rule is compiled to. Prefix (and ImplementationSpecific, which Sluice treats as Prefix): the
     * trailing slash is dropped, as Prefix matching ignores it ({@code /foo/} and {@code /foo} are the same rule);
     * ImplementationSpecific also drops a trailing {@code /*} ({@code /foo/*} is Prefix {@code /foo}, as on GKE);
     * an empty ImplementationSpecific path is {@code /}. Exact: unchanged.
     */
    public static String normalize(String path, String pathType) {
        if (EXACT.equals(pathType)) {
            return path;
        }
        String p = path == null ? "" : path;
        if (IMPLEMENTATION_SPECIFIC.equals(pathType) && p.endsWith("/*")) {
            p = p.substring(0, p.length() - 2);
        }
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() ? "/" : p;
    }
}
