package io.sluice.dataplane.l4;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramPacket;

import java.net.InetSocketAddress;

/** One UDP flow: a client address and the connected upstream socket that carries its datagrams to one endpoint. */
final class UdpFlow extends ChannelInboundHandlerAdapter {
    final UdpService service;
    final InetSocketAddress client;
    final L4Endpoint endpoint;
    final EpollDatagramChannel upstream;
    long lastSeenMs;
    long drainDeadlineMs;
    boolean dirty;
    UdpFlow nextDirty;

    UdpFlow(UdpService service, InetSocketAddress client, L4Endpoint endpoint, EpollDatagramChannel upstream) {
        this.service = service;
        this.client = client;
        this.endpoint = endpoint;
        this.upstream = upstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastSeenMs = service.shard.nowMs;
        // the message's reference passes to the reply
        service.reply(this, msg instanceof DatagramPacket p ? p.content() : (io.netty.buffer.ByteBuf) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        service.flushReplies();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // ICMP port unreachable from the endpoint and the like: the flow stays until it idles out.
    }

    void close() {
        upstream.close();
    }
}
