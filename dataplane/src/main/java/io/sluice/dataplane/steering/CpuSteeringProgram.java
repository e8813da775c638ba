package io.sluice.dataplane.steering;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;

/**
 * The classic-BPF program that a port's SO_REUSEPORT group runs to choose the listening socket of a new connection:
 * it loads the number of the CPU processing the connection's SYN (the ancillary load {@code SKF_AD_CPU}) and returns
 * the index, in the group, of the listener of the shard pinned to that CPU.
 *
 * <p>The kernel numbers a TCP reuseport group's sockets in the order they started listening, so listener {@code i}
 * is shard {@code i}'s when the shards bind in order (they do: {@code DataPlane.start} starts them one by one). A
 * return value that is not a socket index (a CPU without a shard) makes the kernel fall back to its own hash.
 *
 * <p>Two shapes, the smallest that fits:
 * <pre>
 *   shards on CPUs b, b+1, ..., b+n-1          any other set of CPUs c0, c1, ...
 *     ld  #cpu                                   ld  #cpu
 *     sub #b          (left out when b = 0)      jeq #c0, 0, 1      ; A == c0 ? fall through : skip one
 *     ret a                                      ret #0
 *                                                jeq #c1, 0, 1
 *                                                ret #1
 *                                                ...
 *                                                ret #0xffffffff    ; no shard here: the kernel's hash decides
 * </pre>
 * In the first shape a CPU below {@code b} wraps to a huge unsigned index and one above the range exceeds the group
 * size: both fall back to the kernel's hash, like the table's last line.
 *
 * <p>Encoding ({@code struct sock_filter}, 8 bytes, native byte order): {@code u16 code; u8 jt; u8 jf; u32 k}.
 * Immutable.
 */
public final class CpuSteeringProgram {
    /** {@code BPF_LD | BPF_W | BPF_ABS}: A = 32-bit word at offset k (here an ancillary value). */
    public static final int LD_W_ABS = 0x20;
    /** {@code BPF_ALU | BPF_SUB | BPF_K}: A -= k. */
    public static final int ALU_SUB_K = 0x14;
    /** {@code BPF_JMP | BPF_JEQ | BPF_K}: pc += (A == k) ? jt : jf. */
    public static final int JMP_JEQ_K = 0x15;
    /** {@code BPF_RET | BPF_A}: return A. */
    public static final int RET_A = 0x16;
    /** {@code BPF_RET | BPF_K}: return k. */
    public static final int RET_K = 0x06;
    /** {@code SKF_AD_OFF}: offsets from here address ancillary data instead of packet bytes. */
    public static final int SKF_AD_OFF = -0x1000;
    /** {@code SKF_AD_CPU}: the ancillary value "current CPU" ({@code raw_smp_processor_id()}). */
    public static final int SKF_AD_CPU = 36;
    /** Return value that names no socket, so the kernel picks by its hash. */
    public static final int NO_LISTENER = 0xffffffff;
    /** {@code BPF_MAXINSNS}. */
    public static final int MAX_INSTRUCTIONS = 4096;
    /** Size of one encoded instruction. */
    public static final int INSTRUCTION_BYTES = 8;

    private final int[] cpus;
    private final short[] code;
    private final byte[] jt;
    private final byte[] jf;
    private final int[] k;

    private CpuSteeringProgram(int[] cpus, short[] code, byte[] jt, byte[] jf, int[] k) {
        this.cpus = cpus;
        this.code = code;
        this.jt = jt;
        this.jf = jf;
        this.k = k;
    }

    /**
     * The program for a group whose listener {@code i} belongs to the shard on CPU {@code cpuOfListener[i]}.
     *
     * @throws IllegalArgumentException for an empty or too long list, a negative or repeated CPU
     */
    public static CpuSteeringProgram forListenerCpus(int[] cpuOfListener) {
        Objects.requireNonNull(cpuOfListener, "cpuOfListener");
        int n = cpuOfListener.length;
        if (n == 0) {
            throw new IllegalArgumentException("no listeners");
        }
        BitSet seen = new BitSet();
        boolean contiguous = true;
        for (int i = 0; i < n; i++) {
            int c = cpuOfListener[i];
            if (c < 0 || seen.get(c)) {
                throw new IllegalArgumentException("CPU " + c + " is negative or listed twice");
            }
            seen.set(c);
            contiguous &= c == cpuOfListener[0] + i;
        }
        int base = cpuOfListener[0];
        int length = contiguous ? (base == 0 ? 2 : 3) : 2 * n + 2;
        if (length > MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException(n + " scattered CPUs need " + length + " instructions, more than "
                + MAX_INSTRUCTIONS);
        }
        short[] code = new short[length];
        byte[] jt = new byte[length];
        byte[] jf = new byte[length];
        int[] k = new int[length];
        int pc = 0;
        code[pc] = LD_W_ABS;
        k[pc++] = SKF_AD_OFF + SKF_AD_CPU;
        if (contiguous) {
            if (base != 0) {
                code[pc] = ALU_SUB_K;
                k[pc++] = base;
            }
            code[pc++] = RET_A;
        } else {
            for (int i = 0; i < n; i++) {
                code[pc] = JMP_JEQ_K;
                k[pc] = cpuOfListener[i];
                jf[pc++] = 1;
                code[pc] = RET_K;
                k[pc++] = i;
            }
            code[pc] = RET_K;
            k[pc++] = NO_LISTENER;
        }
        return new CpuSteeringProgram(cpuOfListener.clone(), code, jt, jf, k);
    }

    /** The CPU of each listener, as given. */
    public int[] cpus() {
        return cpus.clone();
    }

    /** Number of instructions. */
    public int length() {
        return code.length;
    }

    public int code(int pc) {
        return code[pc] & 0xffff;
    }

    public int jt(int pc) {
        return jt[pc] & 0xff;
    }

    public int jf(int pc) {
        return jf[pc] & 0xff;
    }

    public int k(int pc) {
        return k[pc];
    }

    /** The instructions as an array of {@code struct sock_filter} in {@code order}. */
    public byte[] encode(ByteOrder order) {
        ByteBuffer b = ByteBuffer.allocate(code.length * INSTRUCTION_BYTES).order(order);
        for (int pc = 0; pc < code.length; pc++) {
            b.putShort(code[pc]).put(jt[pc]).put(jf[pc]).putInt(k[pc]);
        }
        return b.array();
    }

    /**
     * Runs the program as the kernel would for a SYN processed on {@code cpu}: the listener index it returns
     * (unsigned; {@link #NO_LISTENER} or anything not below the group's size means "the kernel's hash decides").
     * Interprets exactly the instructions this class emits, so tests can check the mapping without a kernel.
     */
    public int run(int cpu) {
        int a = 0;
        int pc = 0;
        while (pc < code.length) {
            int op = code(pc);
            switch (op) {
                case LD_W_ABS -> {
                    if (k[pc] != SKF_AD_OFF + SKF_AD_CPU) {
                        throw new IllegalStateException("unexpected load at " + pc);
                    }
                    a = cpu;
                    pc++;
                }
                case ALU_SUB_K -> {
                    a -= k[pc];
                    pc++;
                }
                case JMP_JEQ_K -> pc += 1 + (a == k[pc] ? jt(pc) : jf(pc));
                case RET_A -> {
                    return a;
                }
                case RET_K -> {
                    return k[pc];
                }
                default -> throw new IllegalStateException("unexpected opcode " + op + " at " + pc);
            }
        }
        throw new IllegalStateException("fell off the end");
    }

    /** A listing in the style of the kernel's {@code bpf_asm}. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("CpuSteeringProgram" + Arrays.toString(cpus) + " {\n");
        for (int pc = 0; pc < code.length; pc++) {
            s.append(String.format("  %2d: ", pc));
            switch (code(pc)) {
                case LD_W_ABS -> s.append("ld  #cpu");
                case ALU_SUB_K -> s.append("sub #").append(k[pc]);
                case JMP_JEQ_K -> s.append("jeq #").append(k[pc]).append(", ").append(jt(pc)).append(", ").append(jf(pc));
                case RET_A -> s.append("ret a");
                case RET_K -> s.append("ret #").append(Integer.toUnsignedString(k[pc]));
                default -> s.append("?");
            }
            s.append('\n');
        }
        return s.append('}').toString();
    }
}
