package io.sluice.nictuning;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** The fixture hosts under src/test/resources/fixtures, and a way to run the command line on them. */
final class Fixtures {
    static final String MLX5 = "mlx5-2socket";
    static final String ICE = "ice-isolated";
    static final String I40E = "i40e-nonuma";

    private Fixtures() {
    }

    static Path dir(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new AssertionError("fixture " + name + " not on the test classpath");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static Setting.Host host(Path fixture) {
        return new Setting.Host(new HostFs(fixture.resolve("root")), new FixtureEthtool(fixture.resolve("ethtool")));
    }

    static Inspector.Inventory inspect(String name) {
        Setting.Host h = host(dir(name));
        return new Inspector(h.fs(), h.ethtool()).inspect(null);
    }

    /** A writable copy of a fixture, for apply. */
    static Path copy(String name, Path target) throws IOException {
        Path source = dir(name);
        try (Stream<Path> s = Files.walk(source)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = target.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return target;
    }

    /** Every file of a tree, relative path to content with whitespace runs made single spaces. */
    static Map<String, String> snapshot(Path tree) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(tree)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    out.put(tree.relativize(p).toString(), Files.readString(p).trim().replaceAll("[ \\t]+", " "));
                }
            }
        }
        return out;
    }

    /** The outcome of one command-line run. */
    record Cli(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Cli run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = new NicTuningMain(o, e).run(args);
        }
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs the command line on a fixture tree (root and ethtool captures) with the given arguments. */
    static Cli runOn(Path fixture, String... args) {
        String[] all = new String[args.length + 4];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--root";
        all[args.length + 1] = fixture.resolve("root").toString();
        all[args.length + 2] = "--ethtool-fixtures";
        all[args.length + 3] = fixture.resolve("ethtool").toString();
        return run(all);
    }
}
