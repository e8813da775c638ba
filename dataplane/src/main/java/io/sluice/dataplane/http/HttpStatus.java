package io.sluice.dataplane.http;

/** Status codes the parser and the proxy produce themselves. Parse methods return {@link #OK} or one of these. */
public final class HttpStatus {
    public static final int OK = 0;
    public static final int NEED_MORE = -1;
    public static final int BAD_REQUEST = 400;
    public static final int NOT_FOUND = 404;
    public static final int METHOD_NOT_ALLOWED = 405;
    public static final int PAYLOAD_TOO_LARGE = 413;
    public static final int URI_TOO_LONG = 414;
    public static final int HEADERS_TOO_LARGE = 431;
    public static final int NOT_IMPLEMENTED = 501;
    public static final int BAD_GATEWAY = 502;
    public static final int SERVICE_UNAVAILABLE = 503;
    public static final int GATEWAY_TIMEOUT = 504;
    public static final int VERSION_NOT_SUPPORTED = 505;

    private HttpStatus() {
    }
}
