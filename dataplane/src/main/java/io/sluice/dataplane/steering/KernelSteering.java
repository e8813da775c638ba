package io.sluice.dataplane.steering;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.RawUnixChannelOption;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The two socket options steering uses, through Netty's generic Unix options (no JNI of our own):
 * {@code SO_ATTACH_REUSEPORT_CBPF} to attach a {@link CpuSteeringProgram} to a reuseport group, and
 * {@code SO_INCOMING_CPU} to read, once per accepted connection, the CPU that processed its packets.
 */
public final class KernelSteering {
    /** {@code SOL_SOCKET} on Linux. */
    public static final int SOL_SOCKET = 1;
    /** {@code SO_INCOMING_CPU} (Linux 3.19). */
    public static final int SO_INCOMING_CPU = 49;
    /** {@code SO_ATTACH_REUSEPORT_CBPF} (Linux 4.5). */
    public static final int SO_ATTACH_REUSEPORT_CBPF = 51;
    /** {@code struct sock_fprog} on LP64: {@code u16 len}, 6 bytes of padding, {@code struct sock_filter *filter}. */
    static final int SOCK_FPROG_BYTES = 16;

    public static final IntegerUnixChannelOption INCOMING_CPU =
        new IntegerUnixChannelOption("SO_INCOMING_CPU", SOL_SOCKET, SO_INCOMING_CPU);
    public static final RawUnixChannelOption ATTACH_REUSEPORT_CBPF =
        new RawUnixChannelOption("SO_ATTACH_REUSEPORT_CBPF", SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, SOCK_FPROG_BYTES);

    private KernelSteering() {
    }

    /**
     * The CPU that processed the last packet received on {@code ch} (for a connection just accepted: its handshake),
     * or -1 when the kernel does not say. One getsockopt; the value is a small cached {@code Integer}, so no garbage.
     */
    public static int incomingCpu(Channel ch) {
        try {
            Integer cpu = ch.config().getOption(INCOMING_CPU);
            return cpu == null ? -1 : cpu;
        } catch (ChannelException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /**
     * Attaches {@code program} to the reuseport group of {@code listener} (any socket of the group: the program
     * belongs to the group). The kernel copies the instructions during the call.
     *
     * @throws IOException when the kernel refuses (too old: ENOPROTOOPT; not in a reuseport group: EINVAL; ...)
     */
    public static void attach(Channel listener, CpuSteeringProgram program) throws IOException {
        if (ValueLayout.ADDRESS.byteSize() != 8) {
            throw new IOException("SO_ATTACH_REUSEPORT_CBPF: only 64-bit platforms are supported");
        }
        byte[] instructions = program.encode(ByteOrder.nativeOrder());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filter = arena.allocate(instructions.length, 8);
            MemorySegment.copy(instructions, 0, filter, ValueLayout.JAVA_BYTE, 0, instructions.length);
            ByteBuffer fprog = ByteBuffer.allocateDirect(SOCK_FPROG_BYTES).order(ByteOrder.nativeOrder());
            fprog.putShort(0, (short) program.length());
            fprog.putLong(8, filter.address());
            if (!listener.config().setOption(ATTACH_REUSEPORT_CBPF, fprog)) {
                throw new IOException("SO_ATTACH_REUSEPORT_CBPF: not an epoll channel: " + listener.getClass().getName());
            }
        } catch (ChannelException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IOException("SO_ATTACH_REUSEPORT_CBPF refused: " + cause.getMessage(), cause);
        }
    }

    /**
     * Whether this kernel accepts a CPU-steering program on a reuseport socket, tried on a socket made for the
     * purpose (never bound). Returns null when it does, else the reason.
     */
    public static String probeCbpf() {
        if (!Epoll.isAvailable()) {
            return "no native epoll: " + Epoll.unavailabilityCause();
        }
        EpollServerSocketChannel probe;
        try {
            probe = new EpollServerSocketChannel();
        } catch (RuntimeException | LinkageError e) {
            return "no epoll socket: " + e;
        }
        try {
            probe.config().setOption(EpollChannelOption.SO_REUSEPORT, true);
            attach(probe, CpuSteeringProgram.forListenerCpus(new int[] {0}));
            return null;
        } catch (IOException | ChannelException e) {
            return e.getMessage();
        } finally {
            probe.unsafe().closeForcibly();
        }
    }
}
