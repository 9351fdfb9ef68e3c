// SPDX-License-Identifier: GPL-2.0
/*
 * 15-module-scope: a generation per pid namespace (a container's scope).
 *
 * A file belongs to the scope of its opener's pid namespace. The code that
 * runs in a namespace runs in a grandchild made by in_pidns() (unshare,
 * then fork: the first process of the new namespace) and reports by its
 * exit status: 0, or 1 after a check that failed (CHECK, which says so). Each test
 * reads the root scope's values rather than assume them: the counter is
 * system-wide.
 */
#include <sched.h>
#include <sys/socket.h>

#include "sgtest.h"

/*
 * In the namespace's processes: a failed check says which and exits 1
 * (an exit status cannot carry a line number above 255).
 */
#define CHECK(c) do { if (!(c)) check_failed(__LINE__, #c); } while (0)

static void check_failed(int line, const char *what)
{
	fprintf(stderr, "# %s:%d: check failed: %s\n", __FILE__, line, what);
	_exit(1);
}

static int in_pidns(int (*fn)(void *), void *arg, bool userns)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		alarm(SG_GUARD_S);
		if (userns && unshare(CLONE_NEWUSER))
			_exit(200);
		if (unshare(CLONE_NEWPID))
			_exit(201);
		pid = fork();
		if (pid < 0)
			_exit(202);
		if (!pid)
			_exit(fn(arg));
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			_exit(203);
		_exit(WEXITSTATUS(status));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static const __u32 *map_gen(int fd)
{
	const __u32 *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static __u32 sysfs_gen(void)
{
	FILE *f = fopen("/sys/class/misc/sysgenid/generation", "r");
	unsigned int g = 0;

	if (!f || fscanf(f, "%u", &g) != 1)
		sg_die("sysfs generation");
	fclose(f);
	return g;
}

/* A scope's own event: its mapping moves before the ioctl returns. */
static int bump_own(void *arg)
{
	int fd = sg_open(O_RDWR);
	const __u32 *p = map_gen(fd);
	__u32 before, got;

	(void)arg;
	CHECK(p);
	CHECK(sg_fdinfo(fd, "sysgenid-scope-level") == 1);
	before = sg_load(p);
	CHECK(!readable(fd));
	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	CHECK(sg_load(p) != before);
	CHECK(readable(fd));
	CHECK(read(fd, &got, sizeof(got)) == sizeof(got));
	CHECK(got == sg_load(p));
	CHECK(write(fd, &got, sizeof(got)) == sizeof(got));
	CHECK(!readable(fd));
	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 1) == -1 && errno == EINVAL);
	return 0;
}

TEST(scope_event_stays_in_its_scope)
{
	int fd = sg_open(O_RDWR);
	const __u32 *p = map_gen(fd);
	__u32 root = sysfs_gen();

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sg_fdinfo(fd, "sysgenid-scope-level"));
	ASSERT_EQ(0, in_pidns(bump_own, NULL, false));
	EXPECT_EQ(root, sysfs_gen());
	EXPECT_EQ(root, sg_load(p));
	EXPECT_FALSE(readable(fd));
	close(fd);
}

/* A file of a namespace, made and kept while the test goes on. */
struct holder {
	int ready[2];		/* the holder writes its generation */
	int go[2];		/* the test writes one byte per step */
};

/*
 * Reports the generation of @fd's mapping @p, waits for the test's byte,
 * and checks that an event came meanwhile.
 */
static int report_and_wait(struct holder *h, int fd, const __u32 *p)
{
	__u32 before;
	char c;

	CHECK(p);
	before = sg_load(p);
	CHECK(write(h->ready[1], &before, sizeof(before)) == sizeof(before));
	CHECK(read(h->go[0], &c, 1) == 1);
	CHECK(sg_load(p) != before);
	CHECK(readable(fd));
	return 0;
}

/* The test makes a root event meanwhile. */
static int hold(void *arg)
{
	int fd = sg_open(O_RDWR);

	return report_and_wait(arg, fd, map_gen(fd));
}

TEST(root_event_reaches_every_scope)
{
	struct holder h;
	int fd = sg_open(O_RDWR), status;
	__u32 g;
	pid_t pid;

	if (ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, 0) && errno == EPERM)
		SKIP(return, "needs CAP_CHECKPOINT_RESTORE");
	ASSERT_EQ(0, pipe(h.ready));
	ASSERT_EQ(0, pipe(h.go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(in_pidns(hold, &h, false));
	ASSERT_EQ(sizeof(g), read(h.ready[0], &g, sizeof(g)));
	ASSERT_EQ(0, ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, 0));
	ASSERT_EQ(1, write(h.go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(fd);
}

/* Nested: the child scope sees its parent's event, not the reverse. */
static int nested_inner(void *arg)
{
	int fd = sg_open(O_RDWR);
	__u32 before;

	CHECK(sg_fdinfo(fd, "sysgenid-scope-level") == 2);
	report_and_wait(arg, fd, map_gen(fd));
	/* Its own event: the parent's file must not see it. */
	CHECK(read(fd, &before, sizeof(before)) == sizeof(before));
	CHECK(write(fd, &before, sizeof(before)) == sizeof(before));
	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	return 0;
}

static int nested_outer(void *arg)
{
	struct holder h;
	int fd = sg_open(O_RDWR), status;
	const __u32 *p = map_gen(fd);
	__u32 g, mine;
	pid_t pid;

	(void)arg;
	CHECK(p && !pipe(h.ready) && !pipe(h.go));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid)
		_exit(in_pidns(nested_inner, &h, false));
	CHECK(read(h.ready[0], &g, sizeof(g)) == sizeof(g));
	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	CHECK(read(fd, &mine, sizeof(mine)) == sizeof(mine));
	CHECK(write(fd, &mine, sizeof(mine)) == sizeof(mine));
	CHECK(write(h.go[1], "x", 1) == 1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	/* The inner scope's event came and went without this one. */
	CHECK(sg_load(p) == mine && !readable(fd));
	return 0;
}

/* A container's watcher, outdated by its own scope's event until go. */
static int outdate_and_wait(void *arg)
{
	struct holder *h = arg;
	int fd = sg_open(O_RDWR);
	__u32 g;
	char c;

	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	CHECK(read(fd, &g, sizeof(g)) == sizeof(g));
	CHECK(write(h->ready[1], &g, sizeof(g)) == sizeof(g));
	CHECK(read(h->go[0], &c, 1) == 1);
	CHECK(write(fd, &g, sizeof(g)) == sizeof(g));
	return 0;
}

TEST(nested_scopes_see_their_ancestors_events)
{
	ASSERT_EQ(0, in_pidns(nested_outer, NULL, false));
}

/* The outdated count of a scope covers its subtree, and only that. */
static int count_inner(void *arg)
{
	int root_fd = *(int *)arg;
	long root0 = ioctl(root_fd, SYSGENID_GET_OUTDATED_WATCHERS);
	int fd = sg_open(O_RDWR);
	__u32 g;

	CHECK(ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS) == 0);
	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	CHECK(ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS) == 1);
	CHECK(ioctl(root_fd, SYSGENID_GET_OUTDATED_WATCHERS) == root0 + 1);
	/* The root scope's orchestrator would wait for it. */
	CHECK(ioctl(root_fd, SYSGENID_WAIT_WATCHERS, 1) == -1 &&
	      errno == ETIME);
	CHECK(read(fd, &g, sizeof(g)) == sizeof(g));
	CHECK(write(fd, &g, sizeof(g)) == sizeof(g));
	CHECK(ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS) == 0);
	CHECK(ioctl(root_fd, SYSGENID_GET_OUTDATED_WATCHERS) == root0);
	return 0;
}

TEST(outdated_count_covers_the_subtree)
{
	/* Not tracked: the count is the others'. */
	int fd = sg_open(O_RDONLY);

	ASSERT_EQ(0, in_pidns(count_inner, &fd, false));
	close(fd);
}

/*
 * A sibling's outdated watcher: this scope's orchestrator does not wait for
 * it, the root's does (the file passed in is the sibling's, outdated).
 */
static int sibling_waits(void *arg)
{
	int fd = sg_open(O_RDWR);

	CHECK(ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS) == 0);
	CHECK(ioctl(fd, SYSGENID_WAIT_WATCHERS, 100) == 0);
	(void)arg;
	return 0;
}

TEST(wait_watchers_skips_a_sibling_scope)
{
	struct holder h;
	int root = sg_open(O_RDONLY), status;
	__u32 g;
	pid_t pid;

	ASSERT_EQ(0, pipe(h.ready));
	ASSERT_EQ(0, pipe(h.go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(in_pidns(outdate_and_wait, &h, false));
	/* The sibling's watcher is outdated now, until the byte. */
	ASSERT_EQ(sizeof(g), read(h.ready[0], &g, sizeof(g)));
	EXPECT_EQ(0, in_pidns(sibling_waits, NULL, false));
	EXPECT_EQ(-1, ioctl(root, SYSGENID_WAIT_WATCHERS, 100));
	EXPECT_EQ(ETIME, errno);
	ASSERT_EQ(1, write(h.go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(root);
}

/*
 * Root of its own user namespace: its own scope yes; the root scope and a
 * sibling's (a file passed in) no.
 */
static int userns_bump(void *arg)
{
	const int *fds = arg;	/* a root-scope file, a sibling's */
	int fd = sg_open(O_RDWR);

	CHECK(ioctl(fd, SYSGENID_BUMP_SCOPE, 0) == 0);
	CHECK(ioctl(fds[0], SYSGENID_BUMP_SCOPE, 0) == -1 && errno == EPERM);
	CHECK(ioctl(fds[0], SYSGENID_FORCE_GEN_UPDATE, 0) == -1 &&
	      errno == EPERM);
	CHECK(ioctl(fds[1], SYSGENID_BUMP_SCOPE, 0) == -1 && errno == EPERM);
	return 0;
}

static int send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHECK(sendmsg(sock, &msg, 0) == 1);
	return 0;
}

/* The sibling: opens a file in its namespace and sends it. */
static int send_file(void *arg)
{
	return send_fd(*(int *)arg, sg_open(O_RDWR));
}

static int recv_file(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

TEST(user_namespace_root_bumps_its_own_scope_only)
{
	int sv[2], fds[2];
	__u32 root = sysfs_gen();

	fds[0] = sg_open(O_RDWR);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, in_pidns(send_file, &sv[1], false));
	fds[1] = recv_file(sv[0]);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(1, sg_fdinfo(fds[1], "sysgenid-scope-level"));
	ASSERT_EQ(0, in_pidns(userns_bump, fds, true));
	EXPECT_EQ(root, sysfs_gen());
	EXPECT_FALSE(readable(fds[0]));
	EXPECT_FALSE(readable(fds[1]));
}

/*
 * A container: sends its pid namespace (/proc/self/ns/pid) over the
 * socket, then waits for the test's byte and finds the event the test
 * made through a file bound to its scope.
 */
static int send_ns_and_wait(void *arg)
{
	int sock = *(int *)arg, fd = sg_open(O_RDWR), ns;
	char c;

	ns = open("/proc/self/ns/pid", O_RDONLY);
	CHECK(ns >= 0);
	CHECK(!readable(fd));
	CHECK(send_fd(sock, ns) == 0);
	CHECK(read(sock, &c, 1) == 1);
	/* "e": the test made an event in this scope; "-": it did not. */
	CHECK(readable(fd) == (c == 'e'));
	return 0;
}

struct container {
	pid_t pid;
	int sock;
	int ns;
};

static void start_container(struct __test_metadata *_metadata,
			    struct container *c)
{
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	c->pid = fork();
	ASSERT_LE(0, c->pid);
	if (!c->pid) {
		close(sv[0]);
		_exit(in_pidns(send_ns_and_wait, &sv[1], false));
	}
	close(sv[1]);
	c->sock = sv[0];
	c->ns = recv_file(c->sock);
	ASSERT_LE(0, c->ns);
}

TEST(set_scope_binds_a_file_to_a_container)
{
	int root = sg_open(O_RDWR), f = sg_open(O_RDWR), status;
	int net = open("/proc/self/ns/net", O_RDONLY);
	int path = open("/proc/self/ns/pid", O_PATH);
	struct container c;
	__u32 g, before = sysfs_gen();

	start_container(_metadata, &c);
	EXPECT_EQ(-1, ioctl(f, SYSGENID_SET_SCOPE, 999));
	EXPECT_EQ(EBADF, errno);
	/* As setns(2): an O_PATH descriptor names no namespace to use. */
	ASSERT_LE(0, path);
	EXPECT_EQ(-1, ioctl(f, SYSGENID_SET_SCOPE, path));
	EXPECT_EQ(EBADF, errno);
	close(path);
	EXPECT_EQ(-1, ioctl(f, SYSGENID_SET_SCOPE, root));
	EXPECT_EQ(EINVAL, errno);
	if (net >= 0) {
		EXPECT_EQ(-1, ioctl(f, SYSGENID_SET_SCOPE, net));
		EXPECT_EQ(EINVAL, errno);
	}
	/* A file used already stays where it is. */
	EXPECT_FALSE(readable(root));
	EXPECT_EQ(-1, ioctl(root, SYSGENID_SET_SCOPE, c.ns));
	EXPECT_EQ(EBUSY, errno);

	ASSERT_EQ(0, ioctl(f, SYSGENID_SET_SCOPE, c.ns));
	EXPECT_EQ(1, sg_fdinfo(f, "sysgenid-scope-level"));
	EXPECT_EQ(1, sg_fdinfo(f, "sysgenid-tracked"));
	EXPECT_EQ(-1, ioctl(f, SYSGENID_SET_SCOPE, c.ns));
	EXPECT_EQ(EBUSY, errno);
	/* The container's event: its process and this file see it. */
	ASSERT_EQ(0, ioctl(f, SYSGENID_BUMP_SCOPE, 0));
	EXPECT_TRUE(readable(f));
	/* This file and the container's own. */
	EXPECT_EQ(2, ioctl(f, SYSGENID_GET_OUTDATED_WATCHERS));
	ASSERT_EQ(1, write(c.sock, "e", 1));
	ASSERT_EQ(c.pid, waitpid(c.pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_FALSE(readable(root));
	EXPECT_EQ(before, sysfs_gen());
	EXPECT_EQ(1, ioctl(f, SYSGENID_GET_OUTDATED_WATCHERS));
	ASSERT_EQ(sizeof(g), read(f, &g, sizeof(g)));
	ASSERT_EQ(sizeof(g), write(f, &g, sizeof(g)));
	EXPECT_EQ(0, ioctl(f, SYSGENID_GET_OUTDATED_WATCHERS));
}

/* From a user namespace of its own, a sibling container is not its own. */
static int userns_set_scope(void *arg)
{
	int ns = *(int *)arg, f = sg_open(O_RDWR), self;

	CHECK(ioctl(f, SYSGENID_SET_SCOPE, ns) == -1 && errno == EPERM);
	self = open("/proc/self/ns/pid", O_RDONLY);
	CHECK(self >= 0);
	CHECK(ioctl(f, SYSGENID_SET_SCOPE, self) == 0);
	CHECK(ioctl(f, SYSGENID_BUMP_SCOPE, 0) == 0);
	return 0;
}

TEST(set_scope_is_refused_for_a_sibling)
{
	struct container c;
	int status;

	start_container(_metadata, &c);
	EXPECT_EQ(0, in_pidns(userns_set_scope, &c.ns, true));
	ASSERT_EQ(1, write(c.sock, "-", 1));
	ASSERT_EQ(c.pid, waitpid(c.pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The container: sends a file of its scope and its namespace, and exits. */
static int send_and_exit(void *arg)
{
	int sock = *(int *)arg, ns = open("/proc/self/ns/pid", O_RDONLY);

	CHECK(ns >= 0);
	CHECK(send_fd(sock, sg_open(O_RDWR)) == 0);
	CHECK(send_fd(sock, ns) == 0);
	return 0;
}

/*
 * A scope outlives its namespace while a file or a mapping holds it, and
 * is freed after (KASAN and kmemleak on the debug kernel watch): files
 * bound to a dead namespace's scope, mapped, bumped and closed, while new
 * scopes (which free the dead ones) come and go.
 */
TEST(scopes_outlive_their_namespace_while_held)
{
	int sv[2], i;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	for (i = 0; i < 50; i++) {
		int fd, ns, bound = sg_open(O_RDONLY);
		const __u32 *p, *q;
		__u32 g;

		ASSERT_EQ(0, in_pidns(send_and_exit, &sv[1], false));
		fd = recv_file(sv[0]);
		ns = recv_file(sv[0]);
		ASSERT_LE(0, fd);
		ASSERT_LE(0, ns);
		/* Dead now: another scope's making frees what no one holds. */
		ASSERT_EQ(0, in_pidns(bump_own, NULL, false));
		ASSERT_EQ(0, ioctl(bound, SYSGENID_SET_SCOPE, ns));
		p = map_gen(fd);
		q = map_gen(bound);
		ASSERT_NE(NULL, p);
		ASSERT_NE(NULL, q);
		g = sg_load(p);
		EXPECT_EQ(g, sg_load(q));
		close(ns);
		close(fd);
		EXPECT_EQ(0, ioctl(bound, SYSGENID_BUMP_SCOPE, 0));
		EXPECT_NE(g, sg_load(p));
		EXPECT_EQ(sg_load(p), sg_load(q));
		close(bound);
		if (i % 2)
			munmap((void *)q, sg_page());
		munmap((void *)p, sg_page());
	}
}

/* The container: sends its namespace, opens a file of it and exits. */
static int send_ns_and_exit(void *arg)
{
	int sock = *(int *)arg, ns = open("/proc/self/ns/pid", O_RDONLY);

	CHECK(ns >= 0);
	CHECK(send_fd(sock, ns) == 0);
	/* A scope made while its namespace is going away, and dropped. */
	close(sg_open(O_RDONLY));
	return 0;
}

/*
 * Binds that race the namespace's exit (on the guest's two CPUs): each
 * either finds the scope alive or makes it again for the dead namespace;
 * either way the file works and the scope is freed once it is closed and
 * unmapped (KASAN and kmemleak on the debug kernel watch, and at unload).
 */
TEST(binds_race_their_namespace_exit)
{
	int sv[2], i, j, status;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	for (i = 0; i < 100; i++) {
		const __u32 *p[4];
		int ns, f[4];
		pid_t pid;

		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			_exit(in_pidns(send_ns_and_exit, &sv[1], false));
		ns = recv_file(sv[0]);
		ASSERT_LE(0, ns);
		for (j = 0; j < 4; j++) {
			f[j] = sg_open(j % 2 ? O_RDWR : O_RDONLY);
			ASSERT_EQ(0, ioctl(f[j], SYSGENID_SET_SCOPE, ns));
			p[j] = j % 2 ? map_gen(f[j]) : NULL;
		}
		close(ns);
		ASSERT_EQ(0, ioctl(f[i % 4], SYSGENID_BUMP_SCOPE, 0));
		/* One scope, whenever each bound: the event reached all. */
		for (j = 0; j < 4; j++) {
			EXPECT_EQ(1, sg_fdinfo(f[j], "sysgenid-scope-level"));
			EXPECT_TRUE(readable(f[j]));
			if (p[j])
				EXPECT_EQ(sg_load(p[1]), sg_load(p[j]));
		}
		EXPECT_EQ(sg_fdinfo(f[0], "sysgenid-scope"),
			  sg_fdinfo(f[3], "sysgenid-scope"));
		for (j = 0; j < 4; j++) {
			close(f[j]);
			if (p[j] && (i + j) % 3)
				munmap((void *)p[j], sg_page());
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
}

/* A new scope's value is one no scope had: a restored one never repeats. */
static int report_gen(void *arg)
{
	int out = *(int *)arg, fd = sg_open(O_RDONLY);
	const __u32 *p = map_gen(fd);
	__u32 g;

	CHECK(p);
	g = sg_load(p);
	CHECK(write(out, &g, sizeof(g)) == sizeof(g));
	return 0;
}

TEST(new_scopes_never_repeat_a_value)
{
	__u32 seen[16];
	int pfd[2], i, j;

	ASSERT_EQ(0, pipe(pfd));
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, in_pidns(report_gen, &pfd[1], false));
		ASSERT_EQ(sizeof(seen[i]), read(pfd[0], &seen[i],
						sizeof(seen[i])));
		for (j = 0; j < i; j++)
			EXPECT_NE(seen[j], seen[i]);
	}
}

TEST_HARNESS_MAIN
