package io.sluice.dataplane.steering;

import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The instructions and their encoding, checked against linux/filter.h by hand; and what they compute. */
class CpuSteeringProgramTest {
    @Test
    void contiguousFromZeroIsLoadCpuReturnA() {
        CpuSteeringProgram p = CpuSteeringProgram.forListenerCpus(new int[] {0, 1, 2, 3});
        assertEquals(2, p.length());
        assertEquals(0x20, p.code(0)); // BPF_LD | BPF_W | BPF_ABS
        assertEquals(0xfffff024, p.k(0)); // SKF_AD_OFF (-0x1000) + SKF_AD_CPU (36)
        assertEquals(0x16, p.code(1)); // BPF_RET | BPF_A
        // struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}, little-endian on x86-64.
        assertArrayEquals(new byte[] {
            0x20, 0x00, 0, 0, 0x24, (byte) 0xf0, (byte) 0xff, (byte) 0xff,
            0x16, 0x00, 0, 0, 0, 0, 0, 0,
        }, p.encode(ByteOrder.LITTLE_ENDIAN));
        for (int cpu = 0; cpu < 4; cpu++) {
            assertEquals(cpu, p.run(cpu));
        }
        assertTrue(Integer.toUnsignedLong(p.run(4)) >= 4, "a CPU without a shard is no listener index");
    }

    @Test
    void contiguousFromBaseSubtractsIt() {
        CpuSteeringProgram p = CpuSteeringProgram.forListenerCpus(new int[] {8, 9, 10});
        assertEquals(3, p.length());
        assertEquals(0x14, p.code(1)); // BPF_ALU | BPF_SUB | BPF_K
        assertEquals(8, p.k(1));
        assertArrayEquals(new byte[] {0x14, 0x00, 0, 0, 8, 0, 0, 0},
            java.util.Arrays.copyOfRange(p.encode(ByteOrder.LITTLE_ENDIAN), 8, 16));
        assertEquals(0, p.run(8));
        assertEquals(2, p.run(10));
        assertTrue(Integer.toUnsignedLong(p.run(7)) >= 3, "below the base wraps to a huge index");
        assertTrue(Integer.toUnsignedLong(p.run(11)) >= 3);
    }

    @Test
    void scatteredCpusUseAJumpTable() {
        int[] cpus = {8, 2, 12, 5};
        CpuSteeringProgram p = CpuSteeringProgram.forListenerCpus(cpus);
        assertEquals(2 + 2 * cpus.length, p.length());
        for (int i = 0; i < cpus.length; i++) {
            int jeq = 1 + 2 * i;
            assertEquals(0x15, p.code(jeq)); // BPF_JMP | BPF_JEQ | BPF_K
            assertEquals(cpus[i], p.k(jeq));
            assertEquals(0, p.jt(jeq));
            assertEquals(1, p.jf(jeq));
            assertEquals(0x06, p.code(jeq + 1)); // BPF_RET | BPF_K
            assertEquals(i, p.k(jeq + 1));
            assertEquals(i, p.run(cpus[i]));
        }
        assertEquals(0x06, p.code(p.length() - 1));
        assertEquals(CpuSteeringProgram.NO_LISTENER, p.k(p.length() - 1));
        assertEquals(CpuSteeringProgram.NO_LISTENER, p.run(3));
        byte[] enc = p.encode(ByteOrder.BIG_ENDIAN);
        assertArrayEquals(new byte[] {0x00, 0x15, 0, 1, 0, 0, 0, 8}, java.util.Arrays.copyOfRange(enc, 8, 16));
    }

    @Test
    void rejectsWhatTheKernelCouldNotIndex() {
        assertThrows(IllegalArgumentException.class, () -> CpuSteeringProgram.forListenerCpus(new int[0]));
        assertThrows(IllegalArgumentException.class, () -> CpuSteeringProgram.forListenerCpus(new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> CpuSteeringProgram.forListenerCpus(new int[] {-1}));
        int[] many = new int[2048];
        for (int i = 0; i < many.length; i++) {
            many[i] = 2 * i; // scattered: 2 + 2 * 2048 instructions > BPF_MAXINSNS
        }
        assertThrows(IllegalArgumentException.class, () -> CpuSteeringProgram.forListenerCpus(many));
        int[] fits = java.util.Arrays.copyOf(many, 2047);
        assertEquals(4096, CpuSteeringProgram.forListenerCpus(fits).length());
    }

    @Test
    void theKernelAcceptsIt() {
        String refused = KernelSteering.probeCbpf();
        org.junit.jupiter.api.Assumptions.assumeTrue(refused == null, "kernel refuses reuseport CBPF: " + refused);
    }
}
