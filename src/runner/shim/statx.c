/* statx.c — a shared object preloaded into every program in a gVisor
 * sandbox (through the sandbox's /etc/ld.so.preload), for one reason: the
 * gVisor release Debian ships (runsc 20221219) answers statx(2) and
 * fstatat(2) with EINVAL when the flags include AT_NO_AUTOMOUNT, which
 * coreutils always passes, so `ls -l` and `stat` fail there. The flag
 * only matters for automount points, which a sandbox does not have; these
 * wrappers drop it and make the system call. Built on its own by the
 * Makefile and linked into plue as bytes (sandbox_gvisor.c writes it into
 * each sandbox); see docs/sandbox.md. */
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

#ifdef SYS_newfstatat
int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
	long rc = syscall(SYS_newfstatat, dirfd, path, buf, flags & ~AT_NO_AUTOMOUNT);
	return rc < 0 ? -1 : (int)rc;
}

int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
	/* the same layout on 64-bit targets */
	return fstatat(dirfd, path, (struct stat *)buf, flags);
}
#endif
