package io.sluice.routetable;

import java.util.Objects;

/**
 * One path of a virtual host.
 *
 * @param path    starts with {@code /}
 * @param type    match semantics
 * @param backend index into {@link RouteTable#backends()}
 * @param source  where the rule came from (e.g. {@code ingress default/shop}); shown by explain, never matched
 */
public record PathRule(String path, PathType type, int backend, String source) {
    public PathRule {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(source, "source");
        if (path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("path must start with '/': '" + path + "'");
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
                throw new IllegalArgumentException("path has a character not allowed in a rule: '" + path + "'");
            }
        }
    }
}
