package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Appends received bytes to a connection's buffer of unconsumed input, for both ends of an exchange. Zero copy in
 * the common case: with nothing pending, the received buffer itself becomes the input buffer. Otherwise the bytes are
 * appended, into a new pooled buffer when the current one cannot take them in place (shared by slices still in
 * flight, read-only, or too small).
 */
final class Cumulation {
    private Cumulation() {
    }

    /** Returns the input buffer holding {@code cum}'s unread bytes followed by {@code in}'s; takes ownership of both. */
    static ByteBuf append(ByteBufAllocator alloc, ByteBuf cum, ByteBuf in) {
        if (cum == null) {
            return in;
        }
        if (!cum.isReadable()) {
            cum.release();
            return in;
        }
        int need = in.readableBytes();
        if (cum.refCnt() > 1 || cum.isReadOnly() || cum.maxWritableBytes() < need || cum.writableBytes() < need) {
            ByteBuf merged = alloc.directBuffer(cum.readableBytes() + need);
            merged.writeBytes(cum);
            cum.release();
            cum = merged;
        }
        cum.writeBytes(in);
        in.release();
        return cum;
    }
}
