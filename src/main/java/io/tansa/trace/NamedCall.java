package io.tansa.trace;

import java.util.List;

/**
 * One traced call with the names its numbers stand for, looked up while the target lives: how
 * its arguments print (empty when the entry was not seen), the thread's name, what fd arguments and a returned fd point to ({@code fds[i]} for argument i,
 * null when not an fd, not asked for or not known), and for a failed call the errno's name and
 * description (null when unknown). report.TraceLines prints it.
 */
public record NamedCall(Call call, List<SyscallArgs.Arg> args, String thread, String[] fds, String returnedFd, String errno, String errnoText) {
    /** &lt;fcntl.h&gt;: "relative to the current directory" for the *at() calls. */
    public static final int AT_FDCWD = -100;
}
