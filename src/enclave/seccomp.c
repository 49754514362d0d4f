/* seccomp.c — the sandbox's seccomp program, compiled by libseccomp and handed
 * to bubblewrap as a file descriptor (bwrap --seccomp FD loads it right before
 * it execs the program, after its own namespace setup).
 *
 * Policy: default allow (apps are ordinary node/python/ELF programs), EPERM
 * for the syscalls an app never needs and that widen the kernel attack surface
 * or escape the sandbox: mounts, namespaces (unshare, setns, clone with
 * CLONE_NEW*), ptrace and cross-process memory, kexec, bpf, keyrings, kernel
 * modules, perf, userfaultfd, swap, reboot, file handles, raw I/O ports,
 * accounting, quotas, clock setting. clone3 answers ENOSYS (its flags live in
 * memory seccomp cannot read) so libc falls back to clone, which is checked.
 * Syscalls of other ABIs (i386, x32) are killed: libseccomp's bad-arch action. */
#include "enclave/enclave.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const denied[] = {
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "perf_event_open",
    "userfaultfd",
    "swapon",
    "swapoff",
    "reboot",
    "open_by_handle_at",
    "name_to_handle_at",
    "iopl",
    "ioperm",
    "acct",
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "clock_settime",
    "clock_adjtime",
    "settimeofday",
    "adjtimex",
    "stime",
    "syslog",
    "vhangup",
    "nfsservctl",
    "uselib",
    "personality",
    "sethostname",
    "setdomainname",
    "pidfd_getfd",
    "fanotify_init",
    "io_uring_setup",
};

static const uint64_t ns_flags[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
                                    CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP};

static int build(scmp_filter_ctx ctx) {
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture */
        if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) < 0) return -1;
    }
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
        if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i])) < 0)
            return -1;
    int clone3 = seccomp_syscall_resolve_name("clone3");
    if (clone3 != __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3, 0) < 0)
        return -1;
    return 0;
}

int enclave_seccomp_fd(void) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return -1;
    int fd = -1;
    if (build(ctx) == 0) fd = memfd_create("cloister-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 && (seccomp_export_bpf(ctx, fd) < 0 || lseek(fd, 0, SEEK_SET) != 0)) {
        close(fd);
        fd = -1;
    }
    /* Sealed so nothing can rewrite the program between here and bwrap (best effort). */
    if (fd >= 0) (void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
    seccomp_release(ctx);
    return fd;
}
