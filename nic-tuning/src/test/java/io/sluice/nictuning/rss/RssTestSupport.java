package io.sluice.nictuning.rss;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Test helpers: the bitwise reference Toeplitz, the Microsoft vectors file, address conversions. */
final class RssTestSupport {
    private RssTestSupport() {
    }

    /** The Toeplitz hash written straight from its definition, one input bit at a time. */
    static int referenceHash(byte[] key, byte[] input) {
        int result = 0;
        for (int bit = 0; bit < input.length * 8; bit++) {
            if ((input[bit / 8] & (0x80 >>> (bit % 8))) != 0) {
                int window = 0;
                for (int j = 0; j < 32; j++) {
                    int k = bit + j;
                    int keyBit = k / 8 < key.length ? (key[k / 8] >>> (7 - k % 8)) & 1 : 0;
                    window = (window << 1) | keyBit;
                }
                result ^= window;
            }
        }
        return result;
    }

    static byte[] tuple(byte[] src, byte[] dst, int srcPort, int dstPort) {
        byte[] in = new byte[src.length + dst.length + 4];
        System.arraycopy(src, 0, in, 0, src.length);
        System.arraycopy(dst, 0, in, src.length, dst.length);
        int p = src.length + dst.length;
        in[p] = (byte) (srcPort >>> 8);
        in[p + 1] = (byte) srcPort;
        in[p + 2] = (byte) (dstPort >>> 8);
        in[p + 3] = (byte) dstPort;
        return in;
    }

    static int ipv4(byte[] a) {
        return ((a[0] & 0xff) << 24) | ((a[1] & 0xff) << 16) | ((a[2] & 0xff) << 8) | (a[3] & 0xff);
    }

    static long high(byte[] a16) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (a16[i] & 0xff);
        }
        return v;
    }

    static long low(byte[] a16) {
        long v = 0;
        for (int i = 8; i < 16; i++) {
            v = (v << 8) | (a16[i] & 0xff);
        }
        return v;
    }

    static byte[] ipv4Bytes(int a) {
        return new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a};
    }

    static byte[] ipv6Bytes(long high, long low) {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (high >>> (56 - 8 * i));
            b[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return b;
    }

    /** One line of the vectors file. */
    record Vector(String family, byte[] dst, int dstPort, byte[] src, int srcPort, int hashIp, int hashIpTcp) {
    }

    /** The parsed vectors file: key and vectors. */
    record Vectors(byte[] key, List<Vector> vectors) {
    }

    /**
     * {@code <repo>/../shared/testdata/rss-toeplitz-vectors.txt}, where {@code <repo>} is the nearest ancestor of the
     * working directory that has it beside it (the module directory under Maven, the repository in CI).
     */
    static Path vectorsFile() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path candidate = d.resolve("../shared/testdata/rss-toeplitz-vectors.txt").normalize();
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("rss-toeplitz-vectors.txt not found in ../shared/testdata beside any ancestor of "
                + dir + ": the repository must be checked out with shared/ beside it");
    }

    static Vectors readVectors() throws IOException {
        byte[] key = null;
        List<Vector> vectors = new ArrayList<>();
        for (String line : Files.readAllLines(vectorsFile())) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] f = t.split("\\s+");
            if (f[0].equals("key")) {
                key = HexFormat.of().parseHex(f[1]);
                continue;
            }
            if (f.length != 7) {
                throw new AssertionError("unexpected vectors line: " + line);
            }
            vectors.add(new Vector(f[0], InetAddress.getByName(f[1]).getAddress(), Integer.parseInt(f[2]),
                    InetAddress.getByName(f[3]).getAddress(), Integer.parseInt(f[4]),
                    Integer.parseUnsignedInt(f[5].substring(2), 16), Integer.parseUnsignedInt(f[6].substring(2), 16)));
        }
        if (key == null) {
            throw new AssertionError("no key line in " + vectorsFile());
        }
        return new Vectors(key, vectors);
    }
}
