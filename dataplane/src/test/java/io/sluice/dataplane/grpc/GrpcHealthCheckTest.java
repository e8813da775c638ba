package io.sluice.dataplane.grpc;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link GrpcHealthCheck} against grpc-java's own health service (HealthStatusManager). */
@Timeout(60)
class GrpcHealthCheckTest {
    @Test
    void readsEveryServingState() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(health.getHealthService()).build().start();
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoop loop = group.next();
        try {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.getPort());
            health.setStatus("", ServingStatus.SERVING);
            health.setStatus("svc.A", ServingStatus.SERVING);
            health.setStatus("svc.B", ServingStatus.NOT_SERVING);
            assertEquals(GrpcHealthCheck.Result.SERVING, GrpcHealthCheck.check(loop, at, "", 2000).get(5, TimeUnit.SECONDS));
            assertEquals(GrpcHealthCheck.Result.SERVING, GrpcHealthCheck.check(loop, at, "svc.A", 2000).get(5, TimeUnit.SECONDS));
            assertEquals(GrpcHealthCheck.Result.NOT_SERVING, GrpcHealthCheck.check(loop, at, "svc.B", 2000).get(5, TimeUnit.SECONDS));
            assertEquals(GrpcHealthCheck.Result.SERVICE_UNKNOWN,
                GrpcHealthCheck.check(loop, at, "svc.unknown", 2000).get(5, TimeUnit.SECONDS));
            health.enterTerminalState(); // every service NOT_SERVING
            assertEquals(GrpcHealthCheck.Result.NOT_SERVING, GrpcHealthCheck.check(loop, at, "svc.A", 2000).get(5, TimeUnit.SECONDS));
            int closed;
            try (ServerSocket s = new ServerSocket(0)) {
                closed = s.getLocalPort();
            }
            assertEquals(GrpcHealthCheck.Result.FAILED,
                GrpcHealthCheck.check(loop, new InetSocketAddress("127.0.0.1", closed), "", 1000).get(5, TimeUnit.SECONDS));
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
