package io.sluice.dataplane.proxy;

import java.util.ArrayList;

/**
 * A shard's HTTP/2 bookkeeping, touched by the shard's thread only: its HTTP/2 client connections (swept for stream
 * deadlines, stalls and idleness with the shard's 100 ms sweep) and the connections written to during the current
 * event-loop turn, which are flushed once at its end (a task queued on the loop) rather than once per frame.
 */
final class H2ShardState {
    private H2ServerConnection head;
    private final ArrayList<H2Flushable> dirty = new ArrayList<>();
    private final Shard shard;
    private final Runnable flushTask = this::flushDirty;
    private boolean flushScheduled;
    int liveConnections;

    H2ShardState(Shard shard) {
        this.shard = shard;
    }

    void register(H2ServerConnection c) {
        c.next = head;
        if (head != null) {
            head.prev = c;
        }
        head = c;
        liveConnections++;
    }

    void unregister(H2ServerConnection c) {
        if (c.prev != null) {
            c.prev.next = c.next;
        } else if (head == c) {
            head = c.next;
        }
        if (c.next != null) {
            c.next.prev = c.prev;
        }
        c.prev = null;
        c.next = null;
        liveConnections--;
    }

    void sweep(long nowMs) {
        for (H2ServerConnection c = head; c != null; ) {
            H2ServerConnection n = c.next;
            c.sweep(nowMs);
            c = n;
        }
        flushDirty(); // what the sweep wrote (local responses, upstream resets)
    }

    /** Graceful shutdown: GOAWAY on every HTTP/2 client connection; streams in flight finish. */
    void goAwayAll() {
        for (H2ServerConnection c = head; c != null; ) {
            H2ServerConnection n = c.next;
            c.shutdownGracefully();
            c = n;
        }
    }

    void markDirty(H2Flushable f) {
        if (!f.flushMarked()) {
            f.flushMarked(true);
            dirty.add(f);
            if (!flushScheduled) {
                // One flush per connection per event-loop turn: the task runs after this turn's I/O events, so
                // every response that completed in the turn goes out in the same write.
                flushScheduled = true;
                shard.loop.execute(flushTask);
            }
        }
    }

    /** End of a read batch on any HTTP/2 connection of this shard: flush the others it wrote to. */
    void flushDirty() {
        flushScheduled = false;
        ArrayList<H2Flushable> d = dirty;
        for (int i = 0; i < d.size(); i++) {
            H2Flushable f = d.get(i);
            f.flushMarked(false);
            f.flushNow();
        }
        d.clear();
    }

    /** Something the read batch of another connection wrote to. */
    interface H2Flushable {
        boolean flushMarked();

        void flushMarked(boolean marked);

        void flushNow();
    }
}
