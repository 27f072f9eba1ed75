package io.tansa.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The container a cgroup path names, for the path shapes each runtime makes (their docs and source). */
@Tag("fast")
class IdentityTest {
    static final String ID = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

    @Test
    void systemdDriverScopes() {
        assertEquals(new Identity.Container("docker", ID), Identity.containerOf("/system.slice/docker-" + ID + ".scope"));
        assertEquals(new Identity.Container("containerd", ID), Identity.containerOf(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b5e2c4a_1d3f_4e5a_9b6c_7d8e9f0a1b2c.slice/cri-containerd-" + ID + ".scope"));
        assertEquals(new Identity.Container("cri-o", ID), Identity.containerOf(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b5e2c4a_1d3f_4e5a_9b6c_7d8e9f0a1b2c.slice/crio-" + ID + ".scope"));
        assertEquals(new Identity.Container("podman", ID), Identity.containerOf(
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + ID + ".scope/container"));
        assertEquals(new Identity.Container("nspawn", "web-1"), Identity.containerOf("/machine.slice/machine-web\\x2d1.scope/payload"));
    }

    @Test
    void cgroupfsDriverDirectories() {
        assertEquals(new Identity.Container("docker", ID), Identity.containerOf("/docker/" + ID));
        assertEquals(new Identity.Container("kubepods", ID), Identity.containerOf(
                "/kubepods/burstable/pod0b5e2c4a-1d3f-4e5a-9b6c-7d8e9f0a1b2c/" + ID));
        assertEquals(new Identity.Container("podman", ID), Identity.containerOf("/libpod_parent/libpod-" + ID));
    }

    @Test
    void podSliceWithoutAContainerScope() {
        assertEquals(new Identity.Container("kubepods", "pod0b5e2c4a-1d3f-4e5a-9b6c-7d8e9f0a1b2c"), Identity.containerOf(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b5e2c4a_1d3f_4e5a_9b6c_7d8e9f0a1b2c.slice"));
    }

    @Test
    void hostCgroupsAreNoContainer() {
        assertNull(Identity.containerOf("/"));
        assertNull(Identity.containerOf(""));
        assertNull(Identity.containerOf("/user.slice/user-0.slice/session-3.scope"));
        assertNull(Identity.containerOf("/system.slice/docker.service"));
        assertNull(Identity.containerOf("/system.slice/docker-notanid.scope"));
    }

    @Test
    void shortIdAndLabel() {
        Identity.Container c = Identity.containerOf("/system.slice/docker-" + ID + ".scope");
        assertEquals("3f2a1b0c9d8e", c.shortId());
        assertEquals("docker 3f2a1b0c9d8e", c.label());
        assertEquals("web-1", new Identity.Container("nspawn", "web-1").shortId());
    }
}
