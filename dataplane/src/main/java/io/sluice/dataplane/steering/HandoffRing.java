package io.sluice.dataplane.steering;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;

/**
 * Accepted connections on their way from the acceptor thread to one shard: a Disruptor ring of preallocated slots,
 * single producer (the acceptor), drained on the shard's event loop like the shard's command ring.
 *
 * <p>The acceptor {@link #offer}s each connection of a read batch (claim a slot, fill it, publish it) and rings the
 * doorbell once per batch ({@link #ringDoorbell}: {@link EventLoop#execute} of one preallocated drain task). The
 * shard drains every published slot in one go and hands each channel to its {@link Receiver}, which registers it on
 * the shard's loop. Nothing is allocated per connection here, and a full ring is not waited on: the acceptor closes
 * the connection instead (counted by the acceptor), so one stalled shard cannot stop the others' accepts.
 */
public final class HandoffRing {
    /** The shard side: called on the shard's thread for each connection handed to it. */
    public interface Receiver {
        void adopt(Channel channel, int listenerPort, int incomingCpu);
    }

    /** One ring slot; fields written by the acceptor before publishing, read and cleared by the shard. */
    static final class Slot {
        Channel channel;
        int listenerPort;
        int incomingCpu;
    }

    private final EventLoop loop;
    private final Receiver receiver;
    private final RingBuffer<Slot> ring;
    private final EventPoller<Slot> poller;
    private final EventPoller.Handler<Slot> deliver = this::deliver;
    private final EventPoller.Handler<Slot> discard = HandoffRing::discard;
    private final Runnable drain = this::drain;
    /** Acceptor-side: something was published since the last doorbell. */
    private boolean doorbellPending;

    /**
     * @param loop the shard's event loop, where {@code receiver} runs
     * @param size number of slots, a power of two
     */
    public HandoffRing(EventLoop loop, int size, Receiver receiver) {
        this.loop = Objects.requireNonNull(loop, "loop");
        this.receiver = Objects.requireNonNull(receiver, "receiver");
        this.ring = RingBuffer.createSingleProducer(Slot::new, size);
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
    }

    /**
     * Acceptor thread only: queues {@code channel} (accepted, not registered with any loop) for the shard. Returns
     * false, and takes nothing, when the ring is full.
     */
    public boolean offer(Channel channel, int listenerPort, int incomingCpu) {
        long seq;
        try {
            seq = ring.tryNext();
        } catch (InsufficientCapacityException e) {
            return false;
        }
        Slot s = ring.get(seq);
        s.channel = channel;
        s.listenerPort = listenerPort;
        s.incomingCpu = incomingCpu;
        ring.publish(seq);
        doorbellPending = true;
        return true;
    }

    /** Acceptor thread only: wakes the shard if anything was offered since the last call. */
    public void ringDoorbell() {
        if (!doorbellPending) {
            return;
        }
        doorbellPending = false;
        try {
            loop.execute(drain);
        } catch (RejectedExecutionException e) {
            // The shard has stopped (shutdown): nobody will drain, so close what is queued here.
            closeQueued();
        }
    }

    /** Slots published and not yet drained (approximate when read off the shard's thread). */
    public long queued() {
        return ring.getCursor() - poller.getSequence().get();
    }

    private void drain() {
        try {
            poller.poll(deliver);
        } catch (Exception e) {
            throw new IllegalStateException("connection hand-off failed", e);
        }
    }

    private boolean deliver(Slot s, long sequence, boolean endOfBatch) {
        Channel ch = s.channel;
        int port = s.listenerPort;
        int cpu = s.incomingCpu;
        s.channel = null;
        receiver.adopt(ch, port, cpu);
        return true;
    }

    private void closeQueued() {
        try {
            poller.poll(discard);
        } catch (Exception e) {
            throw new IllegalStateException("closing undelivered connections failed", e);
        }
    }

    private static boolean discard(Slot s, long sequence, boolean endOfBatch) {
        Channel ch = s.channel;
        s.channel = null;
        if (ch != null) {
            ch.unsafe().closeForcibly();
        }
        return true;
    }
}
