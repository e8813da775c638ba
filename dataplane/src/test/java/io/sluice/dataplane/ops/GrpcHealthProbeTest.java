package io.sluice.dataplane.ops;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The hand-written gRPC health client against grpc-java's own health service, over cleartext HTTP/2. */
class GrpcHealthProbeTest {
    @Test
    void servingNotServingAndNoHealthService() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(health.getHealthService()).build().start();
        try {
            InetSocketAddress a = new InetSocketAddress("127.0.0.1", server.getPort());
            String authority = "127.0.0.1:" + server.getPort();
            health.setStatus("", ServingStatus.SERVING);
            assertNull(GrpcHealthProbe.check(a, authority, 2_000));
            health.setStatus("", ServingStatus.NOT_SERVING);
            assertEquals("status NOT_SERVING", GrpcHealthProbe.check(a, authority, 2_000));
        } finally {
            server.shutdownNow().awaitTermination();
        }
        Server bare = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
        try {
            String r = GrpcHealthProbe.check(new InetSocketAddress("127.0.0.1", bare.getPort()), "x", 2_000);
            assertEquals("no response message (trailers only: an error status)", r); // UNIMPLEMENTED
        } finally {
            bare.shutdownNow().awaitTermination();
        }
    }

    @Test
    void aPlainHttp1ServerIsNotHealthy() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            Thread t = new Thread(() -> {
                try (Socket c = s.accept()) {
                    c.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                } catch (Exception ignored) {
                    // test over
                }
            });
            t.start();
            String verdict;
            try {
                verdict = GrpcHealthProbe.check(new InetSocketAddress("127.0.0.1", s.getLocalPort()), "x", 1_000);
            } catch (java.io.IOException e) {
                verdict = e.toString(); // the checker counts an I/O error as a failed check
            }
            assertNotNull(verdict);
        }
    }
}
