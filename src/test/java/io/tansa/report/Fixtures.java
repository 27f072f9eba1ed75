package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import java.util.ArrayList;
import java.util.List;

/**
 * Profiles built from stacks shaped like real captures of the seed's case: a Unicorn worker's
 * bcrypt calls reached from two controllers (native frames of libcrypt, bcrypt_ext and libruby
 * with the Ruby frames merged in), plus a native-only path with kernel frames, over three threads
 * of two processes. Counts are known, so every format can be checked against them.
 */
public final class Fixtures {
    private Fixtures() {}

    static final Frame CRYPT_RA = Frame.nativeFrame("crypt_ra", "libcrypt.so.1", 0x7f3a_1c20_4a10L);
    static final Frame BC_HASHPW = Frame.nativeFrame("bc_crypt", "bcrypt_ext.so", 0x7f3a_1b80_1d2cL);
    static final Frame VM_CALL_CFUNC = Frame.nativeFrame("vm_call_cfunc_with_frame", "libruby-3.1.so.3.1", 0x7f3a_1d2b_9e41L);
    static final Frame VM_EXEC = Frame.nativeFrame("vm_exec_core", "libruby-3.1.so.3.1", 0x7f3a_1d2c_0a77L);
    static final Frame RB_HASH = Frame.ruby("hash_secret", "/usr/lib/ruby/vendor_ruby/bcrypt/engine.rb", 51);
    static final Frame RB_CREATE = Frame.ruby("create", "/usr/lib/ruby/vendor_ruby/bcrypt/password.rb", 46);
    static final Frame RB_VALID = Frame.ruby("valid_password?", "app/models/concerns/devise_auth.rb", 12);
    static final Frame RB_BAR = Frame.ruby("bar", "app/controllers/concerns/foo.rb", 32);
    static final Frame RB_SIGNUP = Frame.ruby("Accounts::Signup#create", "app/controllers/accounts/signup.rb", 8);
    static final Frame RB_MAIN = Frame.ruby("<main>", "config.ru", 1);
    static final Frame MAIN = Frame.nativeFrame("main", "ruby3.1", 0x5581_0a00_1139L);
    static final Frame WORKER = Frame.nativeFrame("worker_loop", "burn", 0x5581_0a00_1290L);
    static final Frame START = Frame.nativeFrame("start_thread", "libc.so.6", 0x7f3a_1c89_4b43L);
    static final Frame SYS_WRITE = Frame.kernel("ksys_write", 0xffff_ffff_8140_2b10L);
    static final Frame ENTRY = Frame.kernel("entry_SYSCALL_64_after_hwframe", 0xffff_ffff_81e0_0130L);

    /** Path A (bar → valid_password? → bcrypt): 60 hits. */
    static final List<Frame> PATH_A = List.of(CRYPT_RA, BC_HASHPW, VM_CALL_CFUNC, RB_HASH, RB_CREATE, RB_VALID, RB_BAR, RB_MAIN, VM_EXEC, MAIN);
    /** Path B (signup → create → bcrypt): 30 hits. */
    static final List<Frame> PATH_B = List.of(CRYPT_RA, BC_HASHPW, VM_CALL_CFUNC, RB_HASH, RB_CREATE, RB_SIGNUP, RB_MAIN, VM_EXEC, MAIN);
    /** Path C (native worker thread through a syscall): 10 hits. */
    static final List<Frame> PATH_C = List.of(CRYPT_RA, SYS_WRITE, ENTRY, WORKER, START);

    /** 100 hits: A 60 (pid 100, threads 100/101), B 30 (pid 200), C 10 (pid 100 thread 102), interleaved as a capture would be. */
    public static Profile seed() {
        Profile p = new Profile();
        p.meta("symbol", "crypt_ra");
        p.meta("stopped", "count reached");
        p.addLocation("crypt_ra", "libcrypt.so.1", 0x4a10);
        p.addLocation("crypt_ra", "bcrypt_ext.so", 0x2f00);
        List<Stack> stacks = new ArrayList<>();
        long t = 1_000_000_000L;
        for (int i = 0; i < 100; i++) {
            t += 1_000_000L + i * 13L;
            if (i % 10 == 9) stacks.add(new Stack(100, 102, "worker", t, 0, PATH_C));
            else if (i % 3 == 2) stacks.add(new Stack(200, 200, "unicorn worker[1]", t, 0, PATH_B));
            else stacks.add(new Stack(100, 100 + i % 2, i % 2 == 0 ? "unicorn worker[0]" : "puma 001", t, 0, PATH_A));
        }
        stacks.forEach(p::record);
        return p;
    }
}
