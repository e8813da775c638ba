package io.sluice.dataplane.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The PROXY protocol version 2 header (HAProxy's "The PROXY protocol", section 2.2) that tells a backend the real
 * client's address: the 12-byte signature, version 2 + command PROXY, TCP over IPv4 or IPv6, then source and
 * destination address and port. Mixed families (an IPv4 client on an IPv6 socket) are written as IPv6 with
 * IPv4-mapped addresses.
 */
public final class ProxyProtocolV2 {
    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyProtocolV2() {
    }

    /** The header for a connection from {@code client} to {@code local} (our address the client connected to). */
    public static ByteBuf header(ByteBufAllocator alloc, InetSocketAddress client, InetSocketAddress local) {
        InetAddress src = client.getAddress();
        InetAddress dst = local.getAddress();
        boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
        int addrLen = v4 ? 12 : 36;
        ByteBuf b = alloc.directBuffer(16 + addrLen);
        b.writeBytes(SIGNATURE);
        b.writeByte(0x21); // version 2, PROXY
        b.writeByte(v4 ? 0x11 : 0x21); // TCP over IPv4 / IPv6
        b.writeShort(addrLen);
        if (v4) {
            b.writeBytes(src.getAddress());
            b.writeBytes(dst.getAddress());
        } else {
            b.writeBytes(v6(src));
            b.writeBytes(v6(dst));
        }
        b.writeShort(client.getPort());
        b.writeShort(local.getPort());
        return b;
    }

    private static byte[] v6(InetAddress a) {
        byte[] raw = a.getAddress();
        if (raw.length == 16) {
            return raw;
        }
        byte[] m = new byte[16];
        m[10] = (byte) 0xff;
        m[11] = (byte) 0xff;
        System.arraycopy(raw, 0, m, 12, 4);
        return m;
    }
}
