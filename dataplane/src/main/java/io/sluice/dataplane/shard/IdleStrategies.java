package io.sluice.dataplane.shard;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import io.sluice.dataplane.config.IdleMode;

/**
 * Maps {@link IdleMode} onto Netty's epoll loop. Netty calls {@link SelectStrategy#calculateStrategy} once per loop
 * turn on the shard's own thread, so each strategy instance is confined to one shard and keeps plain fields.
 */
public final class IdleStrategies {
    /** Non-blocking polls before yielding, then yields before blocking (BACKOFF). */
    private static final int SPINS = 2_000;
    private static final int YIELDS = 200;

    private IdleStrategies() {
    }

    public static SelectStrategyFactory factory(IdleMode mode) {
        return switch (mode) {
            case BLOCK -> () -> (selectSupplier, hasTasks) -> hasTasks ? selectSupplier.get() : SelectStrategy.SELECT;
            case SPIN -> () -> (selectSupplier, hasTasks) -> hasTasks ? selectSupplier.get() : SelectStrategy.BUSY_WAIT;
            case BACKOFF -> Backoff::new;
        };
    }

    /** Polls without blocking while work keeps coming; after a quiet spell yields, then blocks in epoll_wait. */
    private static final class Backoff implements SelectStrategy {
        private int idle;

        @Override
        public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
            int ready = selectSupplier.get();
            if (ready > 0 || hasTasks) {
                idle = 0;
                return ready;
            }
            idle++;
            if (idle < SPINS) {
                Thread.onSpinWait();
                return SelectStrategy.CONTINUE;
            }
            if (idle < SPINS + YIELDS) {
                Thread.yield();
                return SelectStrategy.CONTINUE;
            }
            idle = 0;
            return SelectStrategy.SELECT;
        }
    }
}
