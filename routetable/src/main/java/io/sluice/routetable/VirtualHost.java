package io.sluice.routetable;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The rules for one host name.
 *
 * @param host  lower-case exact name ({@code shop.example.com}), a wildcard whose {@code *} stands for exactly one
 *              label ({@code *.example.com}), or empty for rules that apply to any host
 * @param paths the host's path rules, in any order (the data plane orders them by precedence)
 */
public record VirtualHost(String host, List<PathRule> paths) {
    public VirtualHost {
        Objects.requireNonNull(host, "host");
        host = host.toLowerCase(Locale.ROOT);
        validateHost(host);
        paths = List.copyOf(paths);
    }

    public boolean isWildcard() {
        return host.startsWith("*.");
    }

    static void validateHost(String host) {
        if (host.isEmpty()) {
            return;
        }
        String rest = host.startsWith("*.") ? host.substring(2) : host;
        if (rest.isEmpty() || rest.length() > 253) {
            throw new IllegalArgumentException("invalid host '" + host + "'");
        }
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            if (!ok) {
                throw new IllegalArgumentException("invalid host '" + host + "': character '" + c + "'");
            }
        }
        if (rest.startsWith(".") || rest.endsWith(".") || rest.contains("..")) {
            throw new IllegalArgumentException("invalid host '" + host + "': empty label");
        }
    }
}
