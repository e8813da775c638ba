package io.sluice.dataplane.shard;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Pins the calling thread to one CPU with {@code sched_setaffinity(2)} through the FFM API (no JNI library to ship),
 * and reads the calling thread's affinity and current CPU back for tests and for the ready line.
 */
public final class CpuAffinity {
    private static final int CPU_SET_BYTES = 128; // glibc's cpu_set_t: 1024 CPUs
    private static final MethodHandle SET;
    private static final MethodHandle GET;
    private static final MethodHandle GETCPU;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        SET = libc.find("sched_setaffinity").map(a -> linker.downcallHandle(a,
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS))).orElse(null);
        GET = libc.find("sched_getaffinity").map(a -> linker.downcallHandle(a,
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS))).orElse(null);
        GETCPU = libc.find("sched_getcpu").map(a -> linker.downcallHandle(a,
            FunctionDescriptor.of(ValueLayout.JAVA_INT))).orElse(null);
    }

    private CpuAffinity() {
    }

    /** Pins the calling thread to {@code cpu}. Returns false (and changes nothing) when the kernel refuses. */
    public static boolean pinCurrentThread(int cpu) {
        if (SET == null || cpu < 0 || cpu >= CPU_SET_BYTES * 8) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_BYTES);
            set.set(ValueLayout.JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            return (int) SET.invokeExact(0, (long) CPU_SET_BYTES, set) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** The CPUs the calling thread may run on. */
    public static List<Integer> currentThreadAffinity() {
        List<Integer> out = new ArrayList<>();
        if (GET == null) {
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_BYTES);
            if ((int) GET.invokeExact(0, (long) CPU_SET_BYTES, set) != 0) {
                return out;
            }
            for (int cpu = 0; cpu < CPU_SET_BYTES * 8; cpu++) {
                if ((set.get(ValueLayout.JAVA_BYTE, cpu / 8) & (1 << (cpu % 8))) != 0) {
                    out.add(cpu);
                }
            }
        } catch (Throwable t) {
            return out;
        }
        return out;
    }

    /** The CPU the calling thread runs on now, or -1. */
    public static int currentCpu() {
        if (GETCPU == null) {
            return -1;
        }
        try {
            return (int) GETCPU.invokeExact();
        } catch (Throwable t) {
            return -1;
        }
    }

    /** CPUs this process may use (its affinity mask at start), e.g. as limited by taskset or a cgroup cpuset. */
    public static int[] processCpus() {
        List<Integer> cpus = currentThreadAffinity();
        if (cpus.isEmpty()) {
            int n = Runtime.getRuntime().availableProcessors();
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        return cpus.stream().mapToInt(Integer::intValue).toArray();
    }
}
