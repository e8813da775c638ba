/**
 * Receive-side scaling in pure Java: the Toeplitz hash NICs compute ({@link io.sluice.nictuning.rss.ToeplitzHash}),
 * the queue it selects ({@link io.sluice.nictuning.rss.RssTable}) and the source-port solver that makes an upstream
 * connection's replies arrive on the connecting shard's queue ({@link io.sluice.nictuning.rss.RssSourcePortSolver}).
 *
 * <p>Nullness: nothing in this package accepts or returns {@code null}; arguments are checked with
 * {@code requireNonNull} at construction. The per-packet and per-connection methods never allocate.
 */
package io.sluice.nictuning.rss;
