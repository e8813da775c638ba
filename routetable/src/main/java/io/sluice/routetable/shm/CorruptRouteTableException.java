package io.sluice.routetable.shm;

/**
 * A route table image that must not be installed: checksum mismatch, unknown format, truncated or inconsistent
 * contents. The reader counts it, keeps serving the last good table and reports it through
 * {@link RouteTableFileReader#lastRejection()}.
 */
public final class CorruptRouteTableException extends Exception {
    private static final long serialVersionUID = 1L;

    public CorruptRouteTableException(String message) {
        super(message);
    }

    public CorruptRouteTableException(String message, Throwable cause) {
        super(message, cause);
    }
}
