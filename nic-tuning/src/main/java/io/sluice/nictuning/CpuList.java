package io.sluice.nictuning;

import java.util.BitSet;

/**
 * The two ways the kernel writes a set of CPUs: a list ({@code 0-3,8,10-11}, as in {@code smp_affinity_list},
 * {@code cpulist}, {@code isolated}) and a hexadecimal mask in 32-bit groups separated by commas
 * ({@code 00000000,00000101}, as in {@code rps_cpus} and {@code xps_cpus}).
 */
final class CpuList {
    private CpuList() {
    }

    /** Parses a CPU list; empty or blank text is the empty set. */
    static BitSet parseList(String text) {
        BitSet set = new BitSet();
        String trimmed = text.trim();
        if (trimmed.isEmpty()) {
            return set;
        }
        for (String part : trimmed.split(",")) {
            String p = part.trim();
            int dash = p.indexOf('-');
            try {
                if (dash < 0) {
                    set.set(Integer.parseInt(p));
                } else {
                    int from = Integer.parseInt(p.substring(0, dash).trim());
                    int to = Integer.parseInt(p.substring(dash + 1).trim());
                    if (to < from) {
                        throw new IllegalArgumentException("bad CPU range '" + p + "' in '" + text + "'");
                    }
                    set.set(from, to + 1);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad CPU list '" + text + "'", e);
            }
        }
        return set;
    }

    /** Formats a set as the kernel's compressed list: {@code 0-3,8}. */
    static String formatList(BitSet set) {
        StringBuilder sb = new StringBuilder();
        int i = set.nextSetBit(0);
        while (i >= 0) {
            int end = set.nextClearBit(i) - 1;
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append(i);
            if (end > i) {
                sb.append('-').append(end);
            }
            i = set.nextSetBit(end + 1);
        }
        return sb.toString();
    }

    /** Parses a hexadecimal CPU mask, with or without the commas between 32-bit groups. */
    static BitSet parseMask(String text) {
        String hex = text.trim().replace(",", "");
        if (hex.startsWith("0x") || hex.startsWith("0X")) {
            hex = hex.substring(2);
        }
        BitSet set = new BitSet();
        int bit = 0;
        for (int i = hex.length() - 1; i >= 0; i--, bit += 4) {
            int nibble = Character.digit(hex.charAt(i), 16);
            if (nibble < 0) {
                throw new IllegalArgumentException("bad CPU mask '" + text + "'");
            }
            for (int b = 0; b < 4; b++) {
                if ((nibble & (1 << b)) != 0) {
                    set.set(bit + b);
                }
            }
        }
        return set;
    }

    /** Formats a set as a mask in 32-bit groups, as the kernel prints it (without the leading zero groups). */
    static String formatMask(BitSet set) {
        if (set.isEmpty()) {
            return "0";
        }
        int groups = (set.length() + 31) / 32;
        StringBuilder sb = new StringBuilder();
        for (int g = groups - 1; g >= 0; g--) {
            int word = 0;
            for (int b = 0; b < 32; b++) {
                if (set.get(g * 32 + b)) {
                    word |= 1 << b;
                }
            }
            if (g == groups - 1) {
                sb.append(Integer.toHexString(word));
            } else {
                sb.append(',').append(String.format("%08x", word));
            }
        }
        return sb.toString();
    }

    static BitSet of(int... cpus) {
        BitSet set = new BitSet();
        for (int cpu : cpus) {
            set.set(cpu);
        }
        return set;
    }

    static int[] toArray(BitSet set) {
        return set.stream().toArray();
    }
}
