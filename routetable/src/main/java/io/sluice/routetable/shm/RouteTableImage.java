package io.sluice.routetable.shm;

import io.sluice.routetable.RouteTable;

/**
 * The binary form of one {@link RouteTable}: an <em>image</em>, self-describing and checksummed, that the agent
 * writes into a slot of the shared route file and the data plane decodes.
 *
 * <p>All integers are little-endian. The image is a fixed header, a section table and four sections, each with its
 * own CRC32C. The split follows the rate at which things change in a cluster: endpoints (pods starting, stopping,
 * becoming ready) change far more often than routes (Ingress edits) or certificates (renewals). A section's
 * <em>version</em> is the generation in which its contents last changed, so a decoder that already holds a section of
 * that version, length and checksum reuses the objects it decoded then instead of decoding the bytes again; an
 * endpoint-only publication therefore costs the reader one small section, and the decoded table shares its
 * {@link RouteTable#hosts()} list (same instance) with the previous one.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     Magic 0x54524c53 "SLRT"                   |  0
 *  +-------------------------------+-------------------------------+
 *  |        Format Version         |         Section Count         |  4
 *  +-------------------------------+-------------------------------+
 *  |                          Generation                           |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 Image Length (header included)                | 16
 *  +---------------------------------------------------------------+
 *  |   Header CRC32C: bytes 0..19 and 24..95 (section table)       | 20
 *  +---------------------------------------------------------------+
 *  |                Section table: 4 entries of 24 bytes           | 24
 *  |   +0  Version (long)   generation the section last changed    |
 *  |   +8  Offset  (int)    from the start of the image            |
 *  |   +12 Length  (int)                                           |
 *  |   +16 CRC32C  (int)    of the section's bytes                 |
 *  |   +20 Items   (int)    hosts / certificates / backends / L4    |
 *  |   entry 0: ROUTES, 1: TLS, 2: ENDPOINTS, 3: L4                |
 *  +---------------------------------------------------------------+
 *  |                        Sections ...                          ... 120
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * Inside the sections, counts, lengths and indexes are unsigned LEB128 varints; strings are a varint byte length
 * followed by UTF-8. In ROUTES, repeated strings (sources, backend names) are written once in a string table and
 * referred to by index.
 *
 * <pre>
 *  ROUTES    strings: count, string*
 *            defaultBackend + 1
 *            backends: count, (nameRef, balancer ordinal byte, protocol ordinal byte)*
 *            hosts: count, (hostRef, paths: count, (pathRef, type byte, backend index, sourceRef)*)*
 *  TLS       certificates: count, (name, hosts: count, host*, chain PEM, key PEM)*
 *  ENDPOINTS backends: count (= ROUTES backend count), (endpoints: count, (host, port, weight, flags byte)*)*
 *            flags bit 0: draining; hosts inline (mostly distinct IPs: a string table would not pay)
 *  L4        services: count, (name, protocol byte (0 TCP, 1 UDP), listen port, affinity timeout seconds,
 *            flags byte (bit 0: PROXY protocol v2), Maglev table size (0: default),
 *            endpoints: count, (host, port, weight, flags byte)*)*
 *            written between TLS and ENDPOINTS in the bytes; reused (same version) while the services are equal
 * </pre>
 *
 * The header CRC covers the section table, and so each section's CRC: a reader verifies the header, then only the
 * sections it actually decodes.
 */
public final class RouteTableImage {
    /** "SLRT" read as a little-endian int. */
    public static final int MAGIC = 0x54524c53;
    public static final int FORMAT_VERSION = 3;
    public static final int SECTION_COUNT = 4;

    public static final int MAGIC_OFFSET = 0;
    public static final int FORMAT_VERSION_OFFSET = 4;
    public static final int SECTION_COUNT_OFFSET = 6;
    public static final int GENERATION_OFFSET = 8;
    public static final int IMAGE_LENGTH_OFFSET = 16;
    public static final int HEADER_CRC_OFFSET = 20;
    public static final int SECTION_TABLE_OFFSET = 24;
    public static final int SECTION_ENTRY_LENGTH = 24;
    public static final int SECTION_VERSION_OFFSET = 0;
    public static final int SECTION_OFFSET_OFFSET = 8;
    public static final int SECTION_LENGTH_OFFSET = 12;
    public static final int SECTION_CRC_OFFSET = 16;
    public static final int SECTION_ITEMS_OFFSET = 20;
    public static final int HEADER_LENGTH = SECTION_TABLE_OFFSET + SECTION_COUNT * SECTION_ENTRY_LENGTH;

    public static final int ROUTES = 0;
    public static final int TLS = 1;
    public static final int ENDPOINTS = 2;
    public static final int L4 = 3;

    static final int FLAG_DRAINING = 1;
    static final int FLAG_PROXY_PROTOCOL_V2 = 1;

    private RouteTableImage() {
    }

    /** Encodes one table without any reuse between calls (tests, tools). */
    public static byte[] encode(RouteTable table) {
        return new RouteTableEncoder().encodeToArray(table);
    }

    /** Decodes one image without any reuse between calls (tests, tools). */
    public static RouteTable decode(byte[] image) throws CorruptRouteTableException {
        return new RouteTableDecoder().decode(image, 0, image.length);
    }

    static int sectionEntry(int section) {
        return SECTION_TABLE_OFFSET + section * SECTION_ENTRY_LENGTH;
    }

    static int getIntLE(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static int getShortLE(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    static long getLongLE(byte[] b, int at) {
        return (getIntLE(b, at) & 0xffffffffL) | ((long) getIntLE(b, at + 4) << 32);
    }

    static int headerCrc(byte[] b, int base) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, base, HEADER_CRC_OFFSET);
        crc.update(b, base + SECTION_TABLE_OFFSET, HEADER_LENGTH - SECTION_TABLE_OFFSET);
        return (int) crc.getValue();
    }

    static int crc(byte[] b, int off, int len) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, off, len);
        return (int) crc.getValue();
    }
}
