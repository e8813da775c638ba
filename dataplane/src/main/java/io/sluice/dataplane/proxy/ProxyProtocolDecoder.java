package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Reads the PROXY protocol header (v1 text or v2 binary, as HAProxy specifies it) that an L4 load balancer in front of
 * the node puts before a connection's first byte, tells the connection its real client address (a
 * {@link ProxiedAddress} event), and removes itself; what follows the header goes on untouched (a ClientHello or an
 * HTTP request). A connection whose first bytes are not a valid header is closed: on a listener configured for the
 * protocol a missing header means the client bypassed the load balancer, and trusting its bytes would let it forge
 * addresses. A v2 {@code LOCAL} header (the balancer's own health checks) keeps the socket's address.
 */
final class ProxyProtocolDecoder extends ByteToMessageDecoder {
    /** The connection's client address according to the PROXY header. */
    record ProxiedAddress(InetSocketAddress source) {
    }

    private static final byte[] V2_SIGNATURE = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
    private static final int V1_MAX = 107;
    private static final int V2_MAX_ADDRESSES = 536;

    private final ShardStats stats;

    ProxyProtocolDecoder(ShardStats stats) {
        this.stats = stats;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int ri = in.readerIndex();
        int n = in.readableBytes();
        if (n == 0) {
            return;
        }
        byte first = in.getByte(ri);
        if (first == 'P') {
            decodeV1(ctx, in, ri, n);
        } else if (first == 0x0d) {
            decodeV2(ctx, in, ri, n);
        } else {
            fail(ctx, "no PROXY protocol header");
        }
    }

    private void decodeV1(ChannelHandlerContext ctx, ByteBuf in, int ri, int n) {
        int limit = Math.min(n, V1_MAX);
        int eol = -1;
        for (int i = 0; i + 1 < limit; i++) {
            if (in.getByte(ri + i) == '\r' && in.getByte(ri + i + 1) == '\n') {
                eol = i;
                break;
            }
        }
        if (eol < 0) {
            if (n >= V1_MAX) {
                fail(ctx, "PROXY v1 header longer than " + V1_MAX + " bytes");
            }
            return; // need more
        }
        String line = in.toString(ri, eol, StandardCharsets.US_ASCII);
        in.skipBytes(eol + 2);
        String[] f = line.split(" ");
        if (f.length < 2 || !f[0].equals("PROXY")) {
            fail(ctx, "malformed PROXY v1 header");
            return;
        }
        if (f[1].equals("UNKNOWN")) {
            done(ctx, null);
            return;
        }
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) {
            fail(ctx, "malformed PROXY v1 header");
            return;
        }
        try {
            InetAddress src = literal(f[2], f[1].equals("TCP4"));
            int port = Integer.parseInt(f[4]);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            done(ctx, new InetSocketAddress(src, port));
        } catch (NumberFormatException | UnknownHostException e) {
            fail(ctx, "malformed PROXY v1 address");
        }
    }

    private static InetAddress literal(String s, boolean v4) throws UnknownHostException {
        // Only literals: InetAddress.getByName would resolve a name.
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = v4 ? (c >= '0' && c <= '9') || c == '.'
                : Character.digit(c, 16) >= 0 || c == ':' || c == '.';
            if (!ok) {
                throw new UnknownHostException("not an address literal");
            }
        }
        InetAddress a = InetAddress.getByName(s);
        if (v4 != (a instanceof java.net.Inet4Address)) {
            throw new UnknownHostException("address family mismatch");
        }
        return a;
    }

    private void decodeV2(ChannelHandlerContext ctx, ByteBuf in, int ri, int n) {
        int check = Math.min(n, V2_SIGNATURE.length);
        for (int i = 0; i < check; i++) {
            if (in.getByte(ri + i) != V2_SIGNATURE[i]) {
                fail(ctx, "no PROXY protocol header");
                return;
            }
        }
        if (n < 16) {
            return;
        }
        int verCmd = in.getUnsignedByte(ri + 12);
        int fam = in.getUnsignedByte(ri + 13);
        int len = in.getUnsignedShort(ri + 14);
        if ((verCmd >> 4) != 2 || len > V2_MAX_ADDRESSES + 2048) {
            fail(ctx, "unsupported PROXY v2 version or length");
            return;
        }
        if (n < 16 + len) {
            return;
        }
        int cmd = verCmd & 0x0f;
        int a = ri + 16;
        InetSocketAddress src = null;
        try {
            if (cmd == 1) { // PROXY
                if (fam >> 4 == 1 && len >= 12) { // AF_INET
                    byte[] ip = new byte[4];
                    in.getBytes(a, ip);
                    src = new InetSocketAddress(InetAddress.getByAddress(ip), in.getUnsignedShort(a + 8));
                } else if (fam >> 4 == 2 && len >= 36) { // AF_INET6
                    byte[] ip = new byte[16];
                    in.getBytes(a, ip);
                    src = new InetSocketAddress(InetAddress.getByAddress(ip), in.getUnsignedShort(a + 32));
                } else if (fam >> 4 != 0 && fam >> 4 != 3) {
                    fail(ctx, "malformed PROXY v2 addresses");
                    return;
                }
            } else if (cmd != 0) { // 0 = LOCAL
                fail(ctx, "unknown PROXY v2 command " + cmd);
                return;
            }
        } catch (UnknownHostException e) {
            fail(ctx, "malformed PROXY v2 address");
            return;
        }
        in.skipBytes(16 + len);
        done(ctx, src);
    }

    private void done(ChannelHandlerContext ctx, InetSocketAddress source) {
        stats.proxyProtocolHeaders++;
        if (source != null) {
            ctx.fireUserEventTriggered(new ProxiedAddress(source));
        }
        ctx.pipeline().remove(this); // passes on what is buffered after the header
    }

    private void fail(ChannelHandlerContext ctx, String why) {
        stats.proxyProtocolErrors++;
        ctx.close();
    }
}
