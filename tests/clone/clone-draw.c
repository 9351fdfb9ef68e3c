// SPDX-License-Identifier: GPL-2.0
/*
 * clone-draw: draws random numbers the moment a clone learns that it is
 * one, for the clone divergence test (tests/clone/host-diverge.t).
 *
 *   clone-draw watch    seed a user-space PRNG, then wait; on every event
 *                       (read() of a libsysgenid watcher) and on every
 *                       SIGUSR1 (the host's command, in clones without an
 *                       event), draw and report on stdout
 *   clone-draw reseed   RNDRESEEDCRNG: reseed the kernel's CRNG now, so
 *                       that no scheduled reseed falls before the last
 *                       draw; prints "t=S", the guest's clock (CLOCK_BOOTTIME)
 *   clone-draw sync     SYSGENID_SYNC_GEN once: prints "gen=N", or the
 *                       error and exits 1
 *   clone-draw race     maps the VM generation ID page and spins until the
 *                       ID differs from the one the generation stands for,
 *                       then calls SYSGENID_SYNC_GEN at once and exits
 *   clone-draw layout   what this machine offers: the page's
 *                       vmgenid_offset, and the errno of mapping the ID
 *                       page and of SYSGENID_SYNC_GEN (0: they work)
 *
 * The window checks (tests/clone/host-window.t) use the ABI itself, not
 * libsysgenid: the library's own checks are tested in tests/lib/.
 * In watch mode SIGUSR2 runs the ID check once and reports it.
 *
 * A draw takes, in this order: 16 bytes of getrandom(), 16 bytes of
 * /dev/urandom, a kernel UUID (/proc/sys/kernel/random/uuid) and 16 bytes
 * of a ChaCha20 generator that was seeded before the snapshot and reseeds
 * from getrandom() when libsysgenid reports a new generation, as a crypto
 * library would. Reports, one write() each:
 *
 *   @d ready gen=N
 *   @d event|command gen=N getrandom=HEX urandom=HEX uuid=UUID prng=HEX t=S
 *   @d check changed=0|1 gen=N  SIGUSR2: the ID page check
 *   @d racing gen=N             race: spinning
 *   @d synced gen=N             race: SYSGENID_SYNC_GEN returned N
 *   @d error WHAT: MESSAGE      and exit 1
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/random.h>
#include <linux/sysgenid.h>

#include "libsysgenid.h"

static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "@d ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, n) != n)
		exit(1);
}

static void fail(const char *what, int err)
{
	report("error %s: %s", what, strerror(err));
	exit(1);
}

/* ChaCha20 (RFC 8439) as a keystream generator: key, counter, no nonce. */
struct prng {
	uint32_t key[8];
	uint64_t counter;
};

#define ROTL(x, n)	((x) << (n) | (x) >> (32 - (n)))
#define QR(a, b, c, d) do {					\
	a += b; d ^= a; d = ROTL(d, 16);			\
	c += d; b ^= c; b = ROTL(b, 12);			\
	a += b; d ^= a; d = ROTL(d, 8);				\
	c += d; b ^= c; b = ROTL(b, 7);				\
} while (0)

static void chacha20_block(const struct prng *p, uint32_t out[16])
{
	uint32_t in[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	int i;

	memcpy(in + 4, p->key, sizeof(p->key));
	in[12] = (uint32_t)p->counter;
	in[13] = (uint32_t)(p->counter >> 32);
	memcpy(out, in, sizeof(in));
	for (i = 0; i < 10; i++) {
		QR(out[0], out[4], out[8], out[12]);
		QR(out[1], out[5], out[9], out[13]);
		QR(out[2], out[6], out[10], out[14]);
		QR(out[3], out[7], out[11], out[15]);
		QR(out[0], out[5], out[10], out[15]);
		QR(out[1], out[6], out[11], out[12]);
		QR(out[2], out[7], out[8], out[13]);
		QR(out[3], out[4], out[9], out[14]);
	}
	for (i = 0; i < 16; i++)
		out[i] += in[i];
}

static void prng_seed(struct prng *p)
{
	if (getrandom(p->key, sizeof(p->key), 0) != sizeof(p->key))
		fail("getrandom", errno);
	p->counter = 0;
}

/* 16 bytes; the first half of each block rekeys, as fast-key-erasure. */
static void prng_draw(struct prng *p, unsigned char out[16])
{
	uint32_t block[16];

	chacha20_block(p, block);
	p->counter++;
	memcpy(p->key, block, sizeof(p->key));
	memcpy(out, block + 8, 16);
}

static void hex(char *dst, const unsigned char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(dst + 2 * i, "%02x", src[i]);
}

/*
 * The files are opened before the snapshot: opening allocates, and an
 * allocation that takes a new slab draws on the kernel's CRNG (freelist
 * shuffling), which clones of one image do at times of their own.
 */
static int urandom_fd, uuid_fd;

static void pread_all(int fd, const char *what, void *buf, size_t n)
{
	if (pread(fd, buf, n, 0) != (ssize_t)n)
		fail(what, errno ? errno : EIO);
}

/* The generation page and the hypervisor's ID page, read-only. */
struct window {
	const volatile struct sysgenid_page *page;
	const volatile unsigned char *id;
};

static int window_map(int fd, struct window *w)
{
	long psz = sysconf(_SC_PAGESIZE);
	void *p;

	p = mmap(NULL, psz, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap", errno);
	w->page = p;
	p = mmap(NULL, psz, PROT_READ, MAP_SHARED, fd,
		 SYSGENID_VMGENID_PGOFF * psz);
	if (p == MAP_FAILED)
		return errno;
	w->id = (const volatile unsigned char *)p + w->page->vmgenid_offset;
	return 0;
}

/* Has the hypervisor changed the ID since the kernel's last event? */
static int window_changed(const struct window *w, uint32_t *gen)
{
	int i, changed = 0;

	for (i = 0; i < SYSGENID_VMGENID_SIZE; i++)
		changed |= w->id[i] != w->page->vmgenid[i];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*gen = w->page->generation;
	return changed;
}

/* Seconds of the guest's clock since boot, which stands still when saved. */
static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void draw(const char *kind, uint32_t gen, struct prng *p,
		 const volatile uint32_t *map, uint32_t *cached)
{
	unsigned char gr[16], ur[16], pr[16];
	char grx[33], urx[33], prx[33], uuid[40];

	/* What a crypto library does before it hands out bytes. */
	if (sysgenid_changed(map, *cached)) {
		*cached = sysgenid_peek(map);
		prng_seed(p);
	}
	if (getrandom(gr, sizeof(gr), 0) != sizeof(gr))
		fail("getrandom", errno);
	if (read(urandom_fd, ur, sizeof(ur)) != sizeof(ur))
		fail("/dev/urandom", errno ? errno : EIO);
	/* 36 characters and a newline. */
	pread_all(uuid_fd, "uuid", uuid, 37);
	uuid[36] = '\0';
	prng_draw(p, pr);
	hex(grx, gr, 16);
	hex(urx, ur, 16);
	hex(prx, pr, 16);
	report("%s gen=%u getrandom=%s urandom=%s uuid=%s prng=%s t=%.3f", kind,
	       gen, grx, urx, uuid, prx, uptime());
}

static void __attribute__((noreturn)) watch(void)
{
	const volatile uint32_t *map;
	struct pollfd pfd[2];
	struct window win;
	struct sysgenid *h;
	struct prng prng;
	uint32_t cached, gen;
	sigset_t set;
	int ret, nowin;

	ret = sysgenid_open(&h);
	if (ret)
		fail("sysgenid_open", -ret);
	urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (urandom_fd < 0)
		fail("/dev/urandom", errno);
	uuid_fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	if (uuid_fd < 0)
		fail("uuid", errno);
	map = sysgenid_map(h);
	cached = sysgenid_peek(map);
	prng_seed(&prng);
	nowin = window_map(sysgenid_fd(h), &win);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fail("sigprocmask", errno);
	pfd[0].fd = sysgenid_fd(h);
	pfd[0].events = POLLIN;
	pfd[1].fd = signalfd(-1, &set, SFD_CLOEXEC);
	pfd[1].events = POLLIN;
	if (pfd[1].fd < 0)
		fail("signalfd", errno);
	report("ready gen=%u", cached);

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll", errno);
		}
		if (pfd[0].revents) {
			ret = sysgenid_wait(h, 0, &gen);
			if (ret)
				fail("sysgenid_wait", -ret);
			draw("event", gen, &prng, map, &cached);
			ret = sysgenid_confirm(h, gen);
			if (ret && ret != -EINVAL)
				fail("sysgenid_confirm", -ret);
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(pfd[1].fd, &si, sizeof(si)) != sizeof(si))
				fail("signalfd read", errno);
			if (si.ssi_signo == SIGUSR1) {
				draw("command", sysgenid_peek(map), &prng, map,
				     &cached);
			} else if (nowin) {
				fail("ID page", nowin);
			} else {
				ret = window_changed(&win, &gen);
				report("check changed=%d gen=%u", ret, gen);
			}
		}
	}
}

static int reseed(void)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		fail("RNDRESEEDCRNG", errno);
	close(fd);
	printf("t=%.3f\n", uptime());
	return 0;
}

static int open_dev(void)
{
	int fd = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail(SYSGENID_DEVICE, errno);
	return fd;
}

static int sync_gen(void)
{
	__u32 gen;

	if (ioctl(open_dev(), SYSGENID_SYNC_GEN, &gen))
		fail("SYSGENID_SYNC_GEN", errno);
	printf("gen=%u\n", gen);
	return 0;
}

static int race(void)
{
	struct window win;
	uint32_t gen;
	__u32 now;
	int fd = open_dev(), err = window_map(fd, &win);

	if (err)
		fail("ID page", err);
	window_changed(&win, &gen);
	report("racing gen=%u", gen);
	/*
	 * Until the ID page shows a clone, or the notification was quicker
	 * and the generation already moved (then the IDs agree again and
	 * SYNC_GEN must find nothing to do).
	 */
	for (now = gen; !window_changed(&win, &gen) && gen == now;)
		sched_yield();
	if (ioctl(fd, SYSGENID_SYNC_GEN, &now))
		fail("SYSGENID_SYNC_GEN", errno);
	report("synced gen=%u", now);
	return 0;
}

static int layout(void)
{
	struct window win;
	int fd = open_dev(), map_err = window_map(fd, &win);
	__u32 gen;

	printf("vmgenid_offset=%u map=%d sync=%d\n", win.page->vmgenid_offset,
	       map_err, ioctl(fd, SYSGENID_SYNC_GEN, &gen) ? errno : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "watch"))
		watch();
	if (argc == 2 && !strcmp(argv[1], "reseed"))
		return reseed();
	if (argc == 2 && !strcmp(argv[1], "sync"))
		return sync_gen();
	if (argc == 2 && !strcmp(argv[1], "race"))
		return race();
	if (argc == 2 && !strcmp(argv[1], "layout"))
		return layout();
	fprintf(stderr, "usage: %s watch|reseed|sync|race|layout\n", argv[0]);
	return 2;
}
