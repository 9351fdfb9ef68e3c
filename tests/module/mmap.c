// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/sysgenid: the mapped generation (SPEC section 2, mmap()).
 */
#include <pthread.h>
#include <sys/ptrace.h>

#include "sgtest.h"

static const __u32 *map_gen(int fd)
{
	void *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		sg_die("mmap");
	return p;
}

TEST(offset_0_follows_every_bump)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	const __u32 *p = map_gen(ro);
	__u32 g = sg_load(p), v;
	int i;

	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(0, ioctl(ro, SYSGENID_FORCE_GEN_UPDATE,
				   (unsigned long)g));
		EXPECT_EQ(g + 1, sg_load(p));
		ASSERT_EQ(4, sg_read(fd, &v));
		EXPECT_EQ(v, sg_load(p));
		g = v;
	}
	/* A minimum ahead shows too. */
	ASSERT_EQ(0, ioctl(ro, SYSGENID_FORCE_GEN_UPDATE,
			   (unsigned long)(g + 77)));
	EXPECT_EQ(g + 77, sg_load(p));
	munmap((void *)p, sg_page());
	close(fd);
	close(ro);
}

TEST(rest_of_the_page_is_zero)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p;
	const unsigned char *b;
	size_t i, nonzero = 0;

	/* Every bit of the first word set: nothing may leak past it. */
	sg_set_gen(ro, 0xffffffff);
	p = map_gen(ro);
	b = (const unsigned char *)p;
	EXPECT_EQ(0xffffffff, sg_load(p));
	/* struct sysgenid_page: tests/module/vmgenid.c checks its ID. */
	for (i = sizeof(struct sysgenid_page); i < sg_page(); i++)
		nonzero += sg_load(&b[i]) != 0;
	EXPECT_EQ(0, nonzero);
	munmap((void *)p, sg_page());
	close(ro);
}

TEST(length_under_a_page_maps)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = mmap(NULL, sizeof(__u32), PROT_READ, MAP_SHARED,
			      ro, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sizeof(__u32));
	close(ro);
}

TEST(prot_write_on_writable_file_eperm)
{
	int fd = sg_open(O_RDWR);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_WRITE, MAP_SHARED,
				   fd, 0));
	EXPECT_EQ(EPERM, errno);
	close(fd);
}

TEST(prot_write_on_read_only_file_eacces)
{
	int ro = sg_open(O_RDONLY);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ | PROT_WRITE,
				   MAP_SHARED, ro, 0));
	EXPECT_EQ(EACCES, errno);
	close(ro);
}

TEST(mprotect_to_write_fails_eacces)
{
	int fd = sg_open(O_RDWR);
	const __u32 *p = map_gen(fd);

	/* A writable file: only the driver can keep this mapping read-only. */
	EXPECT_EQ(-1, mprotect((void *)p, sg_page(), PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sg_page());
	close(fd);
}

TEST(prot_exec_eperm)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	void *p;

	/* Control: the same mapping without PROT_EXEC is fine. */
	p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, sg_page());
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ | PROT_EXEC,
				   MAP_SHARED, ro, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ | PROT_EXEC,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_EXEC, MAP_SHARED,
				   ro, 0));
	EXPECT_EQ(EPERM, errno);
	close(fd);
	close(ro);
}

TEST(mprotect_to_exec_fails_eacces)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = map_gen(ro);

	EXPECT_EQ(-1, mprotect((void *)p, sg_page(), PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	/* Control: mprotect() itself works on the mapping. */
	EXPECT_EQ(0, mprotect((void *)p, sg_page(), PROT_READ));
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sg_page());
	close(ro);
}

/* A private read-only page: FOLL_FORCE writes to it are allowed (COW). */
static const __u32 *map_private_ro(void)
{
	__u32 *p = mmap(NULL, sg_page(), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		sg_die("mmap");
	sg_store(p, 1);
	if (mprotect(p, sg_page(), PROT_READ))
		sg_die("mprotect");
	return p;
}

TEST(write_through_proc_pid_mem_refused)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	const __u32 *p = map_gen(fd);
	const __u32 *ctl = map_private_ro();
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	__u32 g = sg_gen(), v = g + 12345;

	ASSERT_LE(0, mem);
	/* Control: /proc/self/mem writes to a read-only private page. */
	EXPECT_EQ(4, pwrite(mem, &v, 4, (off_t)(uintptr_t)ctl));
	EXPECT_EQ(v, sg_load(ctl));
	EXPECT_EQ(-1, pwrite(mem, &v, 4, (off_t)(uintptr_t)p));
	EXPECT_EQ(EIO, errno);
	/* Nothing moved, nothing was written. */
	EXPECT_EQ(g, sg_load(p));
	EXPECT_EQ(g, sg_gen());
	EXPECT_EQ(0, sg_ready(ro));
	close(mem);
	munmap((void *)ctl, sg_page());
	munmap((void *)p, sg_page());
	close(fd);
	close(ro);
}

/* Child: stop under the parent's ptrace, with the mappings inherited. */
static void tracee_fn(void *arg, int in, int out)
{
	(void)arg;
	(void)in;
	(void)out;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		sg_die("PTRACE_TRACEME");
	raise(SIGSTOP);
}

TEST(ptrace_pokedata_refused)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	const __u32 *p = map_gen(fd);
	const __u32 *ctl = map_private_ro();
	struct sg_child c = sg_spawn(tracee_fn, NULL);
	__u32 g = sg_gen();
	long word;
	int st;

	ASSERT_EQ(c.pid, waitpid(c.pid, &st, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(st));
	/* Control: POKEDATA writes to the tracee's read-only private page. */
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, c.pid, (void *)ctl, 7L));
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, c.pid, (void *)ctl, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(7, (__u32)word);
	EXPECT_EQ(-1, ptrace(PTRACE_POKEDATA, c.pid, (void *)p,
			     (long)(g + 12345)));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(g, sg_load(p));
	EXPECT_EQ(g, sg_gen());
	EXPECT_EQ(0, sg_ready(ro));
	sg_reap(&c);
	munmap((void *)ctl, sg_page());
	munmap((void *)p, sg_page());
	close(fd);
	close(ro);
}

/* Offset one page is the VM generation ID page: tests/module/vmgenid.c. */
TEST(offset_past_the_id_page_einval)
{
	int ro = sg_open(O_RDONLY);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ, MAP_SHARED,
				   ro, 2 * sg_page()));
	EXPECT_EQ(EINVAL, errno);
	close(ro);
}

TEST(length_over_a_page_einval)
{
	int ro = sg_open(O_RDONLY);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * sg_page(), PROT_READ, MAP_SHARED,
				   ro, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page() + 1, PROT_READ, MAP_SHARED,
				   ro, 0));
	EXPECT_EQ(EINVAL, errno);
	close(ro);
}

TEST(map_private_einval)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ, MAP_PRIVATE,
				   ro, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ, MAP_PRIVATE,
				   fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	close(ro);
}

/* Child: report what the inherited mapping shows, before and after. */
static void prober_fn(void *arg, int in, int out)
{
	const __u32 *p = arg;

	sg_send(out, sg_load(p), 0);
	sg_wait_cmd(in);
	sg_send(out, sg_load(p), 0);
}

TEST(mapping_survives_fork)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = map_gen(ro);
	struct sg_child c = sg_spawn(prober_fn, (void *)p);
	struct sg_msg m;
	__u32 g = sg_gen();

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(g, (__u32)m.ret);
	sg_bump(ro);
	sg_tell(&c, 0);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(g + 1, (__u32)m.ret);
	sg_reap(&c);
	munmap((void *)p, sg_page());
	close(ro);
}

TEST(mapping_survives_close)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = map_gen(ro);
	int fd = sg_open(O_RDONLY);
	__u32 g;

	close(ro);
	g = sg_load(p);
	sg_bump(fd);
	EXPECT_EQ(g + 1, sg_load(p));
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sg_page());
	close(fd);
}

TEST(mremap_cannot_grow)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = map_gen(ro);

	EXPECT_EQ(MAP_FAILED, mremap((void *)p, sg_page(), 2 * sg_page(),
				     MREMAP_MAYMOVE));
	EXPECT_EQ(MAP_FAILED, mremap((void *)p, sg_page(), 2 * sg_page(), 0));
	/* Still there, still live. */
	sg_bump(ro);
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sg_page());
	close(ro);
}

TEST(mapping_left_out_of_core_dumps)
{
	int ro = sg_open(O_RDONLY);
	const __u32 *p = map_gen(ro);
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end;
	char line[512];
	bool in = false, found = false, dd = false;

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's header line; its VmFlags line follows. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start == (unsigned long)p;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			found = true;
			dd = strstr(line, " dd");
		}
	}
	fclose(f);
	ASSERT_TRUE(found);
	EXPECT_TRUE(dd);
	munmap((void *)p, sg_page());
	close(ro);
}

TEST(mapping_keeps_a_tracked_file_a_watcher)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	const __u32 *p;
	int n;

	sg_bump(ro);
	sg_ack(fd);
	n = sg_outdated(ro);
	p = map_gen(fd);
	close(fd);
	sg_bump(ro);
	EXPECT_EQ(n + 1, sg_outdated(ro));
	munmap((void *)p, sg_page());
	EXPECT_EQ(n, sg_outdated(ro));
	close(ro);
}

/* ---- ordering: the page first, then whoever reports the event ---- */

#define ROUNDS 200

enum report { BY_READ, BY_POLL, BY_SPIN };

struct race {
	const __u32 *p;
	int go[2];		/* reader -> main: about to wait */
	int stale;		/* the page lagged behind what was reported */
	int wrong;		/* a reported value other than the bump's */
	enum report how;
};

/* Wait for the event as told; the value read() reports, page snapshot. */
static void race_wait(struct race *r, int fd, __u32 *v, __u32 *seen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n = -1;

	switch (r->how) {
	case BY_READ:
		sg_nonblock(fd, false);
		n = sg_read(fd, v);
		*seen = sg_load(r->p);
		break;
	case BY_POLL:
		if (poll(&pfd, 1, -1) != 1)
			sg_die("poll");
		*seen = sg_load(r->p);
		n = sg_read(fd, v);
		break;
	case BY_SPIN:
		/* Catches the event the moment it is published. */
		sg_nonblock(fd, true);
		while ((n = sg_read(fd, v)) < 0 && errno == EAGAIN)
			;
		*seen = sg_load(r->p);
		break;
	}
	if (n != 4)
		sg_die("read");
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	int fd = sg_open(O_RDWR);
	__u32 v = 0, seen = 0, expect = sg_load(r->p);
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (write(r->go[1], "x", 1) != 1)
			sg_die("pipe");
		expect++;
		race_wait(r, fd, &v, &seen);
		r->stale += seen != expect;
		r->wrong += v != expect;
		if (write(fd, &v, 4) != 4)
			sg_die("confirm");
	}
	close(fd);
	return NULL;
}

/*
 * A reader thread reports each of ROUNDS events the main thread forces;
 * the page must already show the event's value when it is reported.
 */
static void race(struct __test_metadata *_metadata, enum report how)
{
	int ro = sg_open(O_RDONLY);
	struct race r = { .p = map_gen(ro), .how = how };
	pthread_t t;
	char c;
	int i;

	/* The default action: a fired guard kills the test, a failure. */
	alarm(SG_GUARD_S);
	ASSERT_EQ(0, pipe(r.go));
	ASSERT_EQ(0, pthread_create(&t, NULL, race_reader, &r));
	for (i = 0; i < ROUNDS; i++) {
		ASSERT_EQ(1, read(r.go[0], &c, 1));
		ASSERT_EQ(0, ioctl(ro, SYSGENID_FORCE_GEN_UPDATE,
				   (unsigned long)sg_load(r.p)));
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r.stale);
	EXPECT_EQ(0, r.wrong);
	close(r.go[0]);
	close(r.go[1]);
	munmap((void *)r.p, sg_page());
	close(ro);
}

TEST(page_shows_the_value_before_read_returns_it)
{
	race(_metadata, BY_READ);
}

TEST(page_shows_the_value_before_poll_reports_it)
{
	race(_metadata, BY_POLL);
}

TEST(page_shows_the_value_before_a_spinning_reader_sees_it)
{
	race(_metadata, BY_SPIN);
}

TEST_HARNESS_MAIN
