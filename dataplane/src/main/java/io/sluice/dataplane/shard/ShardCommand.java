package io.sluice.dataplane.shard;

import io.sluice.dataplane.proxy.CompiledTable;

/**
 * The slot of a shard's command ring (a Disruptor ring, preallocated): the only way another thread hands something to
 * a shard. Today that is a new compiled route table; a slot's fields are read once by the shard and cleared.
 */
public final class ShardCommand {
    public static final int INSTALL_TABLE = 1;
    /** Start draining: close keep-alive connections after their current response (SIGTERM). */
    public static final int DRAIN = 2;

    public int type;
    public CompiledTable table;
    public long publishedNanos;

    public void clear() {
        type = 0;
        table = null;
        publishedNanos = 0;
    }
}
