package io.tansa.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Container;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * /metrics names a listener in a container by its container (Kubernetes' containerID form) and
 * the holder's pid inside it, next to the host pid; the queue is the one ss sees in its netns.
 */
@Tag("privileged")
@Tag("oracle")
class ContainerMetricsTest {
    @Test
    void listenGaugesCarryTheContainer() throws Exception {
        Privileged.requireRoot();
        String id = Container.randomId();
        try (Container svc = Container.start(Native.build("listen_queue"), "cri-containerd-" + id + ".scope", "tcp:16:3");
                Serve serve = Serve.start()) {
            String local = svc.awaitLine("listener tcp ").split(" ")[3];
            svc.awaitLine("ready");
            String text = Serve.text(serve.get("/metrics"));
            String line = text.lines().filter(l -> l.startsWith("tansa_listen_queued{") && l.contains("local=\"" + local + "\"")
                    && l.contains("container=\"containerd://" + id + "\"")).findFirst().orElseThrow(() -> new AssertionError(text));
            assertTrue(line.contains("ns_pid=\"1\""), line);
            assertTrue(line.contains("pid=\"" + svc.pid + "\""), line);
            Native.Result ss = Native.run("nsenter", "-t", Integer.toString(svc.pid), "-n", "ss", "-Htln");
            long queued = Long.parseLong(ss.out().strip().split("\\s+")[1]);
            assertEquals(queued, (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), line);
            // a host process: empty container labels (absent to Prometheus)
            assertTrue(text.lines().filter(l -> l.startsWith("tansa_listen_backlog{")).allMatch(l -> l.contains("container=")), text);
        }
    }
}
