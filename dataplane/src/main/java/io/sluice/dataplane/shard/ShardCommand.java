package io.sluice.dataplane.shard;

import io.sluice.dataplane.proxy.CompiledTable;

/**
 * The slot of a shard's command ring (a Disruptor ring, preallocated): the only way another thread hands something to
 * a shard. Today that is a new compiled route table; a slot's fields are read once by the shard and cleared.
 */
public final class ShardCommand {
    public static final int INSTALL_TABLE = 1;
    /** Shutdown: GOAWAY on every HTTP/2 client connection (their streams in flight finish). */
    public static final int GOAWAY_HTTP2 = 2;

    public int type;
    public CompiledTable table;
    public long publishedNanos;

    public void clear() {
        type = 0;
        table = null;
        publishedNanos = 0;
    }
}
