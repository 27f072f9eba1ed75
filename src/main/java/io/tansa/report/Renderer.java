package io.tansa.report;

import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;

/** One output format. A renderer only reads a finished {@link Profile}; it never touches a process. */
public interface Renderer {
    void render(Profile profile, OutputStream out) throws IOException;
}
