package io.sluice.dataplane.ops;

/**
 * One access-log record: a preallocated slot of a shard's {@link AccessLog} ring, and the same shape as the scratch a
 * connection fills when its request is sampled. Bytes are copied in (bounded), references are to immutable objects
 * (the connection's client address bytes, the endpoint key, the backend name), so publishing allocates nothing.
 */
public final class AccessLogRecord {
    public static final int MAX_TARGET = 1024;
    public static final int MAX_HOST = 256;
    public static final int MAX_METHOD = 16;

    public final byte[] method = new byte[MAX_METHOD];
    public int methodLen;
    public final byte[] target = new byte[MAX_TARGET];
    public int targetLen;
    public boolean targetTruncated;
    public final byte[] host = new byte[MAX_HOST];
    public int hostLen;
    public int version;
    public byte[] client;
    public long epochMillis;
    public int shard;
    public int status;
    public long requestBytes;
    public long responseBytes;
    public long totalNanos;
    public long upstreamNanos;
    /** Endpoint key ({@code host:port}) or null when no upstream was involved. */
    public String upstream;
    /** Backend name or null. */
    public String service;

    void copyFrom(AccessLogRecord o) {
        System.arraycopy(o.method, 0, method, 0, o.methodLen);
        methodLen = o.methodLen;
        System.arraycopy(o.target, 0, target, 0, o.targetLen);
        targetLen = o.targetLen;
        targetTruncated = o.targetTruncated;
        System.arraycopy(o.host, 0, host, 0, o.hostLen);
        hostLen = o.hostLen;
        version = o.version;
        client = o.client;
    }
}
