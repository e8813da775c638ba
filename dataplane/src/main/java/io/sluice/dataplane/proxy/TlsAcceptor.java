package io.sluice.dataplane.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.sluice.dataplane.tls.TlsContexts;

/**
 * The first handler of a TLS listener's connections: reads the ClientHello (without consuming it), picks what serves
 * its server name from the shard's installed {@link TlsContexts}, and replaces itself with either a BoringSSL
 * {@link SslHandler} of that context (termination: the {@link DownstreamConnection} behind it then reads plaintext)
 * or a {@link PassthroughRelay} (the bytes, ClientHello included, go to the host's backend untouched).
 *
 * <p>A ClientHello that is not one, or that does not arrive within the handshake timeout, closes the connection; an
 * unknown server name does too when the node rejects unknown names. Each outcome is counted on the shard.
 */
final class TlsAcceptor extends AbstractSniHandler<TlsContexts.HostTls> {
    private final Shard shard;
    private final DownstreamConnection downstream;

    TlsAcceptor(Shard shard, DownstreamConnection downstream) {
        super(shard.config.tls().handshakeTimeoutMs());
        this.shard = shard;
        this.downstream = downstream;
    }

    @Override
    protected Future<TlsContexts.HostTls> lookup(ChannelHandlerContext ctx, String hostname) {
        TlsContexts contexts = shard.tls;
        return ctx.executor().newSucceededFuture(contexts == null ? null : contexts.select(hostname));
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname,
                                    Future<TlsContexts.HostTls> future) {
        TlsContexts.HostTls t = future.getNow();
        if (t == null) {
            shard.stats.tlsUnknownServerName++;
            ctx.close();
            return;
        }
        if (t.passthrough) {
            shard.stats.tlsPassthrough++;
            downstream.handOver();
            ctx.pipeline().remove(downstream);
            ctx.pipeline().replace(this, "passthrough", new PassthroughRelay(shard, hostname));
            return;
        }
        SslHandler ssl = t.context.newHandler(ctx.alloc());
        ssl.setHandshakeTimeoutMillis(shard.config.tls().handshakeTimeoutMs());
        if (t.ocsp != null && ssl.engine() instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine e) {
            e.setOcspResponse(t.ocsp); // stapled in this handshake's CertificateStatus
        }
        downstream.tlsHost = t;
        ctx.pipeline().replace(this, "tls", ssl);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        shard.stats.tlsHandshakeFailures++;
        ctx.close();
    }
}
