/* statx.c — a shared object preloaded into every command in a gVisor
 * sandbox (LD_PRELOAD), for one reason: the gVisor release Debian ships
 * (runsc 20221219) answers statx(2) with EINVAL when the flags include
 * AT_NO_AUTOMOUNT, which coreutils always passes, so `ls -l` and `stat`
 * fail there. The flag only matters for automount points, which a sandbox
 * does not have; this wrapper drops it and calls the system call. Built
 * on its own (not part of the plue binary) by the Makefile as
 * plue-statx.so beside the plue executable; see docs/sandbox.md. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
	long rc = syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buf);
	return rc < 0 ? -1 : (int)rc;
}
