// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-dbus-fanout: the fan-out of sgb-fanout's "proc" mode, over D-Bus
 * instead of /dev/sysgenid, as a D-Bus replacement of the driver would do
 * it (a broadcast NewSystemGeneration signal, an acknowledgement method).
 *
 * A publisher owns org.sysgenid.Bench1 on the system bus and serves
 * /org/sysgenid/Bench1 with the method Ack(u gen). N subscriber processes,
 * each with a bus connection of its own and a match on the signal
 * NewSystemGeneration(u gen), call Ack(gen) when it comes (and wait for the
 * reply, as a client of such a service would). One round: from just before
 * the publisher emits the signal to the moment its Ack handler counts the
 * N-th acknowledgement of that generation, on CLOCK_MONOTONIC.
 *
 * Rounds as in sgb-fanout: before each one every subscriber has acked and
 * the run queues are empty; 31 rounds up to N = 100, 15 up to 1000, then 7;
 * the median and the minimum. The system bus must let the name be owned
 * and Ack be called, and allow more than 256 connections of one user:
 * bench/dbus/org.sysgenid.Bench1.conf.
 *
 * Arguments, if any: the values of N.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <systemd/sd-bus.h>

#include "bench.h"

#define NAME		"org.sysgenid.Bench1"
#define PATH		"/org/sysgenid/Bench1"
#define IFACE		"org.sysgenid.Bench1"
#define ROUNDS		31
#define MAX_COUNTS	16
#define MAX_SUBS	10000

static int counts[MAX_COUNTS] = { 1, 10, 100, 1000 };
static int nr_counts = 4;

/* Shared with the subscribers. */
struct shared {
	atomic_ulong started;
};

static struct shared *sh;

/* The publisher's state: the generation of this round and its acks. */
static uint32_t gen;
static int acks, want;
static uint64_t t_last;

static void bus_die(const char *what, int r)
{
	die("%s: %s", what, strerror(-r));
}

/* ----------------------------------------------------------- subscriber */

static int on_signal(sd_bus_message *m, void *data, sd_bus_error *err)
{
	sd_bus *bus = sd_bus_message_get_bus(m);
	uint32_t g;
	int r;

	(void)data;
	r = sd_bus_message_read(m, "u", &g);
	if (r < 0)
		bus_die("subscriber: read signal", r);
	r = sd_bus_call_method(bus, NAME, PATH, IFACE, "Ack", err, NULL,
			       "u", g);
	if (r < 0)
		die("subscriber: Ack: %s", err->message ? err->message :
		    strerror(-r));
	return 0;
}

static void __attribute__((noreturn)) subscriber(void)
{
	sd_bus *bus;
	int r;

	/* A publisher that dies takes its subscribers with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = sd_bus_open_system(&bus);
	if (r < 0)
		bus_die("subscriber: sd_bus_open_system", r);
	/* Synchronous: the daemon has the match when it returns. */
	r = sd_bus_match_signal(bus, NULL, NAME, PATH, IFACE,
				"NewSystemGeneration", on_signal, NULL);
	if (r < 0)
		bus_die("subscriber: sd_bus_match_signal", r);
	atomic_fetch_add(&sh->started, 1);
	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			bus_die("subscriber: sd_bus_process", r);
		if (r == 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0 &&
		    r != -EINTR)
			bus_die("subscriber: sd_bus_wait", r);
	}
}

/* ------------------------------------------------------------ publisher */

static int method_ack(sd_bus_message *m, void *data, sd_bus_error *err)
{
	uint32_t g;
	int r;

	(void)data;
	(void)err;
	r = sd_bus_message_read(m, "u", &g);
	if (r < 0)
		return r;
	if (g == gen && ++acks == want)
		t_last = now_ns();
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable vtable[] = {
	SD_BUS_VTABLE_START(0),
	/* Unprivileged: else sd-bus asks the daemon for the caller's
	 * credentials on every call; the bus policy is the access control. */
	SD_BUS_METHOD("Ack", "u", "", method_ack, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL("NewSystemGeneration", "u", 0),
	SD_BUS_VTABLE_END
};

/* Handle what is queued, waiting at most @usec for more. */
static void pump(sd_bus *bus, uint64_t usec)
{
	int r;

	r = sd_bus_process(bus, NULL);
	if (r < 0)
		bus_die("sd_bus_process", r);
	if (r == 0 && (r = sd_bus_wait(bus, usec)) < 0 && r != -EINTR)
		bus_die("sd_bus_wait", r);
}

/* Every reply sent, every subscriber (and the daemon) asleep. */
static void settle(sd_bus *bus)
{
	uint64_t deadline = now_ns() + 2000000000ull;
	int r;

	r = sd_bus_flush(bus);
	if (r < 0)
		bus_die("sd_bus_flush", r);
	while (running() > 1 && now_ns() < deadline)
		pump(bus, 1000);
	pump(bus, 5000);
}

/* One signal, until the N-th Ack of it: microseconds. */
static double round_us(sd_bus *bus, int n)
{
	uint64_t t0, deadline;
	int r;

	gen++;
	acks = 0;
	want = n;
	t0 = now_ns();
	r = sd_bus_emit_signal(bus, PATH, IFACE, "NewSystemGeneration", "u",
			       gen);
	if (r < 0)
		bus_die("sd_bus_emit_signal", r);
	deadline = t0 + 120000000000ull;
	while (acks < n) {
		if (now_ns() > deadline)
			die("only %d of %d acks", acks, n);
		pump(bus, 1000000);
	}
	return (t_last - t0) / 1000.0;
}

static void measure(sd_bus *bus, int n)
{
	static pid_t pids[MAX_SUBS];
	int rounds = n > 1000 ? 7 : n > 100 ? 15 : ROUNDS, i;
	double us[ROUNDS];
	uint64_t t0;
	char key[48];

	atomic_store(&sh->started, 0);
	fflush(stdout);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork #%d: %s", i, strerror(errno));
		if (!pids[i])
			subscriber();	/* never touches the parent's bus */
	}
	while (atomic_load(&sh->started) < (unsigned long)n) {
		if (now_ns() - t0 > 120000000000ull)
			die("only %lu of %d subscribers up",
			    atomic_load(&sh->started), n);
		pump(bus, 1000);
	}
	printf("# dbus-fanout: %d subscribers up in %.1f s\n", n,
	       (now_ns() - t0) / 1e9);

	for (i = 0; i < rounds; i++) {
		settle(bus);
		us[i] = round_us(bus, n);
	}
	settle(bus);

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);

	snprintf(key, sizeof(key), "signal-n%d-us", n);
	result("dbus", key, median(us, rounds));
	snprintf(key, sizeof(key), "signal-n%d-us-min", n);
	result("dbus", key, us[0]);		/* median() sorted us[] */

	/* The daemon drops the dead connections: let it. */
	sleep(1);
	settle(bus);
}

int main(int argc, char **argv)
{
	sd_bus *bus;
	int i, r;

	nr_counts = parse_counts(argc, argv, counts, MAX_COUNTS, nr_counts,
				 MAX_SUBS);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	r = sd_bus_open_system(&bus);
	if (r < 0)
		bus_die("sd_bus_open_system", r);
	r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, vtable, NULL);
	if (r < 0)
		bus_die("sd_bus_add_object_vtable", r);
	r = sd_bus_request_name(bus, NAME, 0);
	if (r < 0)
		bus_die("sd_bus_request_name " NAME, r);

	for (i = 0; i < nr_counts; i++)
		measure(bus, counts[i]);
	return 0;
}
