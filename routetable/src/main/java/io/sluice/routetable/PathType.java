package io.sluice.routetable;

/**
 * How a rule's path is matched, with Kubernetes Ingress semantics.
 *
 * <p>{@link #PREFIX} matches whole path elements ({@code /foo} matches {@code /foo}, {@code /foo/} and
 * {@code /foo/bar}, never {@code /foobar}); a trailing slash in the rule is ignored. {@link #EXACT} matches the
 * path byte for byte (query excluded, case-sensitive). Exact beats Prefix; among prefixes the longest wins.
 */
public enum PathType {
    EXACT,
    PREFIX
}
