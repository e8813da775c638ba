package io.sluice.agent.compile;

/** The reasons problems are reported under (also the Kubernetes Event reasons). */
public final class Reasons {
    /** A backend names a Service that does not exist. The rule stays and answers 503 until it does. */
    public static final String UNKNOWN_SERVICE = "UnknownService";
    /** A backend names a port the Service does not have. The rule stays and answers 503. */
    public static final String UNKNOWN_SERVICE_PORT = "UnknownServicePort";
    /** A backend is a resource reference ({@code backend.resource}), which Sluice does not serve. 503. */
    public static final String RESOURCE_BACKEND = "ResourceBackendUnsupported";
    /** A backend has neither service nor resource, or a service without port. The path is dropped. */
    public static final String INVALID_BACKEND = "InvalidBackend";
    /** A path that is not absolute, has a forbidden sequence or character, or a regex. The path is dropped. */
    public static final String INVALID_PATH = "InvalidPath";
    /** A path without pathType, or with an unknown one. The path is dropped. */
    public static final String INVALID_PATH_TYPE = "InvalidPathType";
    /** A host that is not a lower-case DNS name or one-label wildcard. The rule is dropped. */
    public static final String INVALID_HOST = "InvalidHost";
    /** The same host, path type and path in two Ingresses: the older wins, this one's path is dropped. */
    public static final String CONFLICT = "Conflict";
    /** The same host, path type and path twice within one Ingress: the first wins. */
    public static final String DUPLICATE_PATH = "DuplicatePath";
    /** Two Ingresses define {@code spec.defaultBackend}: the older wins. */
    public static final String DEFAULT_BACKEND_CONFLICT = "DefaultBackendConflict";
    /** {@code spec.tls} names a Secret that does not exist (or is not a TLS Secret). */
    public static final String MISSING_SECRET = "MissingSecret";
    /** The TLS Secret lacks {@code tls.crt}/{@code tls.key} or they are not PEM. */
    public static final String INVALID_SECRET = "InvalidSecret";
    /** A TLS host is already served by another Secret from an older Ingress. */
    public static final String TLS_CONFLICT = "TLSConflict";
    /** Both {@code ingressClassName} and the legacy annotation are set (the API server refuses that). */
    public static final String INVALID_CLASS = "InvalidIngressClass";
    /** An object without a name, or that does not fit its kind. */
    public static final String INVALID_OBJECT = "InvalidObject";
    /** A manifest file that is not valid YAML/JSON; its last good contents stay in use. */
    public static final String PARSE_ERROR = "ParseError";
    /** Two manifests define the same object; the first (in file order) wins. */
    public static final String DUPLICATE_OBJECT = "DuplicateObject";
    /** A kind we read, but in an API version we do not ({@code extensions/v1beta1} Ingress...). */
    public static final String UNSUPPORTED_API_VERSION = "UnsupportedAPIVersion";

    /** A Service port protocol Sluice does not load-balance (SCTP). */
    public static final String UNSUPPORTED_PROTOCOL = "UnsupportedProtocol";
    /** An annotation Sluice reads has a value it cannot use; the default applies. */
    public static final String INVALID_ANNOTATION = "InvalidAnnotation";

    private Reasons() {
    }
}
