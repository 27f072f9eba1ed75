package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Paths merged into a tree with counts and shares at every node. {@link Direction#CALLERS}
 * ("who calls", format {@code tree}) roots the tree at the innermost frame — the probed function —
 * and grows towards its callers; {@link Direction#CALLEES} (format {@code tree-topdown}) roots it at
 * the outermost frames (main, thread start) and grows towards the probed function. With
 * {@code --group-by}, both trees start with the thread or process.
 */
public final class TreeRenderer implements Renderer {
    public enum Direction { CALLERS, CALLEES }

    private final Direction direction;

    public TreeRenderer(Direction direction) {
        this.direction = direction;
    }

    private static final class Node {
        final Frame frame;
        long count;
        final Map<String, Node> children = new LinkedHashMap<>();
        Node(Frame f) { frame = f; }

        List<Node> sorted() {
            List<Node> l = new ArrayList<>(children.values());
            l.sort(Comparator.comparingLong((Node n) -> n.count).reversed());
            return l;
        }
    }

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        Node root = new Node(null);
        for (Profile.Path path : p.paths()) {
            List<Frame> frames = new ArrayList<>(path.frames());
            if (direction == Direction.CALLEES) {
                java.util.Collections.reverse(frames);
            } else {
                // --group-by frames are outermost; "who calls" splits by thread or process first too.
                List<Frame> groups = frames.stream().filter(f -> Shape.isPseudo(f) && !f.module().equals(Shape.OTHER_MODULE)).toList();
                frames.removeAll(groups);
                frames.addAll(0, groups);
            }
            Node n = root;
            n.count += path.count();
            for (Frame f : frames) {
                n = n.children.computeIfAbsent(f.key(), k -> new Node(f));
                n.count += path.count();
            }
        }
        StringBuilder b = new StringBuilder();
        b.append(TextRenderer.header(p));
        b.append(direction == Direction.CALLERS ? "(probed function first, then who calls it)\n" : "(outermost caller first)\n");
        long total = p.total();
        for (Node n : root.sorted()) node(b, n, "", "", total);
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void node(StringBuilder b, Node n, String lead, String childLead, long total) {
        b.append(lead).append(Names.percent(n.count, total)).append("  ").append(n.count).append("  ")
                .append(n.frame.kind() == Frame.Kind.RUBY ? n.frame.label() : Names.nameWithLine(n.frame)
                        + (n.frame.module() == null || Shape.isPseudo(n.frame) ? "" : " (" + n.frame.module() + ")")).append('\n');
        List<Node> kids = n.sorted();
        for (int i = 0; i < kids.size(); i++) {
            boolean last = i == kids.size() - 1;
            node(b, kids.get(i), childLead + (last ? "└─ " : "├─ "), childLead + (last ? "   " : "│  "), total);
        }
    }
}
