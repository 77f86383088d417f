/*
 * main.c - portald: the master process and its workers.
 *
 *   portald -c FILE [-p PIDFILE]   serve (stays in the foreground)
 *   portald -t -c FILE             check the configuration and every plugin
 *
 * The master reads the configuration, loads the plugins, opens the
 * FastCGI socket (FCGX_Init before fork) and forks the workers; each
 * worker has its own database connection and answers requests one at a
 * time.  SIGTERM/SIGINT: the master passes SIGTERM on, workers finish the
 * request in hand (accept is interrupted, not restarted) and exit.  A
 * worker that dies is replaced, with a pause when it dies young.  One more
 * child, the probe, asks the database while the workers' breaker is open
 * (breaker.c); it is replaced like a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "core.h"
#include "fcgi_out.h"

#define MAX_WORKERS 256

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t child_flag;
static volatile sig_atomic_t reload_flag;

static struct conf conf;
static struct plugins plugins;
static char listen_path[4096]; /* the socket opened at start; a reload cannot move it */

static void
usage(void)
{
	fprintf(stderr, "usage: portald -c FILE [-p PIDFILE]\n"
	                "       portald -t -c FILE    check the configuration and exit\n");
}

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
	FCGX_ShutdownPending();
}

static void
on_reload(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static void
on_child(int sig)
{
	(void)sig;
	child_flag = 1;
}

static void
set_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked accept() must return EINTR */
	sigaction(sig, &sa, NULL);
}

/* ---- FastCGI glue: the only file that knows libfcgi ---- */
struct fcgi_ctx {
	FCGX_Request *req;
};

/* the request in hand wrote through libfcgi's stream (fcgi_finish resets) */
static int fcgi_buffered;

static const char *
fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((struct fcgi_ctx *)ctx)->req->envp);
}

static int
fcgi_read(void *ctx, char *buf, int n)
{
	return FCGX_GetStr(buf, n, ((struct fcgi_ctx *)ctx)->req->in);
}

static int
fcgi_write(void *ctx, const char *buf, size_t n)
{
	struct fcgi_ctx *fc = ctx;
	if (!fcgi_buffered && n > FCGI_DIRECT_MIN && fc->req->ipcFd >= 0)
		return fcgi_write_direct(fc->req, buf, n);
	fcgi_buffered = 1;
	FCGX_Stream *out = fc->req->out;
	while (n > 0) {
		int chunk = n > 1 << 30 ? 1 << 30 : (int)n;
		if (FCGX_PutStr(buf, chunk, out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/* The end of a request (fcgi_out.h: no lingering close once stdin was read). */
static void
fcgi_finish(FCGX_Request *req)
{
	fcgi_close(req);
	fcgi_buffered = 0;
}

/*
 * Whether the web server that sent the request on fd runs on this host
 * (a unix socket, or TCP from a loopback address): then its clock is ours
 * and the response cache may trust its REQUEST_MSEC (cache.c).  `unix_listen`:
 * the listening socket is a unix socket, so every connection is local.
 */
static int
fcgi_peer_local(int unix_listen, int fd)
{
	if (unix_listen)
		return 1;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	if (sa.ss_family == AF_UNIX)
		return 1;
	if (sa.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* A child of the master (a worker, the probe): its log name, its
 * signals; it ends with the master. */
static void
child_start(const char *what)
{
	static char name[64];
	snprintf(name, sizeof(name), "%s[%d]", what, (int)getpid());
	log_name = name;
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	set_signal(SIGTERM, on_stop);
	set_signal(SIGINT, on_stop);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if (getppid() == 1)
		exit(0);
}

static void
worker_main(int fd, struct metrics *metrics, int index)
{
	child_start("portald");

	struct core c;
	memset(&c, 0, sizeof(c));
	c.conf = &conf;
	c.plugins = &plugins;
	c.metrics = metrics;
	c.db = db_new(&conf.db);
	c.cache = cache_new(&conf);
	c.rdb = breaker_replica_new(&conf, index);
	pool_init(&c.pool);
	if (c.db == NULL || (conf.nreplicas > 0 && c.rdb == NULL))
		exit(1);
	if (db_connect(c.db) != PORTAL_OK)
		log_msg(PORTAL_LOG_WARN, NULL, "%s (will retry per request)", db_error(c.db));
	/* the replica connects on the first read: a replica that is down must
	 * not hold up the worker's start */

	FCGX_Request req;
	if (FCGX_InitRequest(&req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "FCGX_InitRequest failed");
		exit(1);
	}
	struct fcgi_ctx fc = {&req};
	const struct req_io io = {&fc, fcgi_param, fcgi_read, fcgi_write};
	unsigned hard_limit = watchdog_limit(&conf);
	watchdog_init(&c);
	struct sockaddr_storage la;
	socklen_t lalen = sizeof(la);
	int unix_listen = getsockname(fd, (struct sockaddr *)&la, &lalen) == 0 && la.ss_family == AF_UNIX;
	while (!stop_flag) {
		if (FCGX_Accept_r(&req) < 0) {
			if (stop_flag)
				break;
			if (errno == EINTR)
				continue;
			log_msg(PORTAL_LOG_ERR, NULL, "accept failed: %s", strerror(errno));
			break;
		}
		watchdog_arm(hard_limit);
		c.peer_local = fcgi_peer_local(unix_listen, req.ipcFd);
		dispatch_request(&c, &io);
		watchdog_disarm();
		fcgi_finish(&req);
	}
	FCGX_Free(&req, 0);
	db_free(c.db);
	cache_free(c.cache);
	db_free(c.rdb);
	pool_destroy(&c.pool);
	plugin_unload_all(&plugins);
	conf_free(&conf);
	db_library_end();
	exit(0);
}

/* The database probe: its own process, so no worker waits for it. */
static void
probe_main(struct metrics *metrics)
{
	child_start("portald-probe");
	breaker_probe(&conf.db, metrics, &stop_flag);
	plugin_unload_all(&plugins);
	conf_free(&conf);
	db_library_end();
	exit(0);
}

static int
open_socket(const char *listen, int mode)
{
	int fd;
	if (listen[0] == '/') {
		struct stat st;
		if (lstat(listen, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				log_msg(PORTAL_LOG_ERR, NULL, "%s exists and is not a socket", listen);
				return -1;
			}
			unlink(listen); /* left over from a previous run */
		}
		mode_t old = umask(0177); /* never world-writable, even for a moment */
		fd = FCGX_OpenSocket(listen, 128);
		umask(old);
		if (fd >= 0 && chmod(listen, (mode_t)mode) != 0) {
			log_msg(PORTAL_LOG_ERR, NULL, "chmod %s: %s", listen, strerror(errno));
			close(fd);
			return -1;
		}
	} else {
		fd = FCGX_OpenSocket(listen, 128);
	}
	if (fd < 0)
		log_msg(PORTAL_LOG_ERR, NULL, "cannot listen on %s: %s", listen, strerror(errno));
	return fd;
}

/*
 * SIGHUP: read the configuration again and load the plugins again (new
 * .so files included: the old ones are unloaded first).  A configuration
 * with problems is refused and the old one kept.  Returns PORTAL_OK when
 * the new one is in place; the caller then replaces the workers.
 */
static int
reload(void)
{
	struct conf nc;
	struct plugins np;
	memset(&np, 0, sizeof(np));
	log_msg(PORTAL_LOG_INFO, NULL, "SIGHUP: reloading %s", conf.path);
	if (conf_load(&nc, conf.path) != PORTAL_OK) {
		for (size_t i = 0; i < nc.nerrors; i++)
			log_msg(PORTAL_LOG_ERR, NULL, "reload: %s", nc.errors[i]);
		log_msg(PORTAL_LOG_ERR, NULL, "reload refused; still serving the old configuration");
		conf_free(&nc);
		return PORTAL_ERROR;
	}
	/* the old plugins go first, so that dlopen maps the new files */
	plugin_unload_all(&plugins);
	if (plugin_load_all(&np, &nc) != PORTAL_OK || (np.openapi = openapi_build(&np)) == NULL) {
		for (size_t i = 0; i < nc.nerrors; i++)
			log_msg(PORTAL_LOG_ERR, NULL, "reload: %s", nc.errors[i]);
		log_msg(PORTAL_LOG_ERR, NULL, "reload refused; still serving the old configuration");
		plugin_unload_all(&np);
		conf_free(&nc);
		/* the running workers keep their own copy; the master needs the
		 * old plugins back to start new ones */
		if (plugin_load_all(&plugins, &conf) != PORTAL_OK ||
		    (plugins.openapi = openapi_build(&plugins)) == NULL)
			log_msg(PORTAL_LOG_ERR, NULL, "the old plugins failed to load again: a worker "
			                              "that dies now cannot be replaced; fix and send SIGHUP");
		return PORTAL_ERROR;
	}
	if (strcmp(nc.listen, listen_path) != 0)
		log_msg(PORTAL_LOG_WARN, NULL, "core.listen changed to %s: restart portald to listen there; "
		                               "still on %s", nc.listen, listen_path);
	conf_free(&conf);
	conf = nc;
	plugins = np;
	log_level = conf.log_level;
	log_msg(PORTAL_LOG_INFO, NULL, "reloaded: %zu plugins, %zu municipalities", plugins.count,
	        conf.nmunis);
	return PORTAL_OK;
}

/*
 * core.user / core.group: started as root (to bind a socket in /run, say),
 * portald hands the socket to that user and group and drops to them before
 * any worker exists; it never serves a request as root.
 */
static int
drop_privileges(const char *sock)
{
	if (conf.user == NULL) {
		if (geteuid() == 0)
			log_msg(PORTAL_LOG_WARN, NULL, "running as root: set core.user (and core.group) "
			                               "to drop privileges");
		return PORTAL_OK;
	}
	struct passwd *pw = getpwnam(conf.user);
	if (pw == NULL) {
		log_msg(PORTAL_LOG_ERR, NULL, "core.user \"%s\": no such user", conf.user);
		return PORTAL_ERROR;
	}
	gid_t gid = pw->pw_gid;
	if (conf.group) {
		struct group *gr = getgrnam(conf.group);
		if (gr == NULL) {
			log_msg(PORTAL_LOG_ERR, NULL, "core.group \"%s\": no such group", conf.group);
			return PORTAL_ERROR;
		}
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return PORTAL_OK;
		log_msg(PORTAL_LOG_ERR, NULL, "core.user is %s, but portald runs as uid %d, not root",
		        conf.user, (int)geteuid());
		return PORTAL_ERROR;
	}
	if (sock[0] == '/' && chown(sock, pw->pw_uid, gid) != 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "chown %s: %s", sock, strerror(errno));
		return PORTAL_ERROR;
	}
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0 ||
	    setuid(0) == 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "cannot drop privileges to %s: %s", conf.user, strerror(errno));
		return PORTAL_ERROR;
	}
	log_msg(PORTAL_LOG_INFO, NULL, "running as %s (uid %d, gid %d)", conf.user, (int)pw->pw_uid,
	        (int)gid);
	return PORTAL_OK;
}

/*
 * No core dumps: one would hold the database password and the tokens of
 * the requests in hand.  RLIMIT_CORE 0 (inherited by the workers and the
 * probe), and not dumpable, which also keeps other processes of the same
 * user from reading its memory (/proc/PID/mem, ptrace).  Again after the
 * privileges were dropped, since a change of uid resets the flag.
 */
static int
no_core_dumps(void)
{
	struct rlimit rl = {0, 0};
	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
		return PORTAL_ERROR;
	}
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
		return PORTAL_ERROR;
	}
#endif
	return PORTAL_OK;
}

static int
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

int
main(int argc, char **argv)
{
	const char *cfile = NULL, *pidfile = NULL;
	int test = 0, ch;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		}

	while ((ch = getopt(argc, argv, "c:p:th")) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'p': pidfile = optarg; break;
		case 't': test = 1; break;
		default: usage(); return ch == 'h' ? 0 : 2;
		}
	}
	if (cfile == NULL || optind != argc) {
		usage();
		return 2;
	}
	static char name[64];
	snprintf(name, sizeof(name), "portald[%d]", (int)getpid());
	log_name = name;
	if (auth_init() != PORTAL_OK) {
		log_msg(PORTAL_LOG_ERR, NULL, "libsodium failed to initialise");
		return 1;
	}
	if (no_core_dumps() != PORTAL_OK)
		return 1;
	if (test)
		log_level = PORTAL_LOG_WARN;
	int rc = conf_load(&conf, cfile);
	if (conf.path && (rc == PORTAL_OK || conf.nerrors > 0) && conf.plugin_dir) {
		log_level = test ? PORTAL_LOG_WARN : conf.log_level;
		plugin_load_all(&plugins, &conf);
	}
	if (conf.nerrors == 0 && (plugins.openapi = openapi_build(&plugins)) == NULL)
		conf_error(&conf, NULL, "cannot build the OpenAPI description (see above)");
	if (conf.nerrors > 0) {
		for (size_t i = 0; i < conf.nerrors; i++)
			fprintf(stderr, "portald: %s\n", conf.errors[i]);
		fprintf(stderr, "portald: configuration file %s has %zu problem%s\n", cfile, conf.nerrors,
		        conf.nerrors == 1 ? "" : "s");
		return 1;
	}
	if (test) {
		printf("portald: configuration file %s is OK (%zu plugin%s, %zu municipalit%s)\n", cfile,
		       plugins.count, plugins.count == 1 ? "" : "s", conf.nmunis,
		       conf.nmunis == 1 ? "y" : "ies");
		plugin_unload_all(&plugins);
		conf_free(&conf);
		return 0;
	}
	log_level = conf.log_level;
	if (db_library_init() != PORTAL_OK || FCGX_Init() != 0) {
		log_msg(PORTAL_LOG_ERR, NULL, "cannot initialise the database or FastCGI library");
		return 1;
	}
	snprintf(listen_path, sizeof(listen_path), "%s", conf.listen);
	int fd = open_socket(listen_path, conf.socket_mode);
	if (fd < 0)
		return 1;

	struct metrics *metrics = metrics_new();
	if (metrics == NULL)
		log_msg(PORTAL_LOG_WARN, NULL, "no shared memory for /metrics: counters stay at zero");

	if (pidfile) {
		/* never through a symbolic link (one planted where the pid file
		 * goes would have root write elsewhere); 0644, whatever the umask */
		int pfd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		FILE *f = pfd >= 0 ? fdopen(pfd, "w") : NULL;
		if (f == NULL) {
			log_msg(PORTAL_LOG_ERR, NULL, "cannot write %s: %s%s", pidfile, strerror(errno),
			        errno == ELOOP ? " (a symbolic link: refused)" : "");
			if (pfd >= 0)
				close(pfd);
			return 1;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	if (drop_privileges(listen_path) != PORTAL_OK || no_core_dumps() != PORTAL_OK)
		return 1;

	/* slots 0..nworkers-1 are the workers, slot nworkers the probe */
	int nworkers = conf.workers > 0 ? conf.workers : ncpu();
	pid_t pids[MAX_WORKERS + 1], old_pids[4 * MAX_WORKERS + 4];
	time_t started[MAX_WORKERS + 1];
	int nold = 0;
	memset(pids, 0, sizeof(pids));
	memset(started, 0, sizeof(started));

	set_signal(SIGTERM, on_stop);
	set_signal(SIGINT, on_stop);
	set_signal(SIGCHLD, on_child);
	set_signal(SIGHUP, on_reload);
	signal(SIGPIPE, SIG_IGN);

	log_msg(PORTAL_LOG_INFO, NULL, "portald %s listening on %s with %d workers", CORE_VERSION,
	        conf.listen, nworkers);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);

	while (!stop_flag) {
		if (reload_flag) {
			reload_flag = 0;
			if (reload() == PORTAL_OK) {
				/* the old workers finish the request in hand and exit;
				 * new ones, forked from the new state, take over the
				 * socket at once */
				for (int i = 0; i <= nworkers; i++) {
					if (pids[i] > 0) {
						kill(pids[i], SIGTERM);
						if (nold < 4 * MAX_WORKERS + 4)
							old_pids[nold++] = pids[i];
					}
					pids[i] = 0;
					started[i] = 0;
				}
				nworkers = conf.workers > 0 ? conf.workers : ncpu();
			}
		}
		time_t now = time(NULL);
		for (int i = 0; i <= nworkers; i++) {
			if (pids[i] != 0 || (i == nworkers && metrics == NULL))
				continue;
			/* a worker that died within a second of starting waits a second */
			if (started[i] != 0 && now - started[i] < 1)
				continue;
			pid_t pid = fork();
			if (pid < 0) {
				log_msg(PORTAL_LOG_ERR, NULL, "fork: %s", strerror(errno));
				continue;
			}
			if (pid == 0) {
				sigprocmask(SIG_SETMASK, &old, NULL);
				if (i == nworkers) {
					close(fd);
					probe_main(metrics);
				}
				worker_main(fd, metrics, i);
			}
			if (started[i] != 0)
				metrics_add(metrics, METRICS_WORKER_RESTARTS, 1);
			pids[i] = pid;
			started[i] = now;
		}
		/* wait for a signal (or a second, to restart paused workers) */
		struct timespec ts = {1, 0};
		sigset_t wait = old;
		sigdelset(&wait, SIGCHLD);
		sigdelset(&wait, SIGTERM);
		sigdelset(&wait, SIGINT);
		sigdelset(&wait, SIGHUP);
		pselect(0, NULL, NULL, NULL, &ts, &wait);
		child_flag = 0;
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int k = 0; k < nold; k++)
				if (old_pids[k] == pid)
					old_pids[k] = old_pids[--nold];
			for (int i = 0; i <= nworkers; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = 0;
				const char *what = i == nworkers ? "database probe" : "worker";
				if (!stop_flag) {
					if (WIFSIGNALED(status))
						log_msg(PORTAL_LOG_ERR, NULL, "%s %d killed by signal %d; restarting",
						        what, (int)pid, WTERMSIG(status));
					else if (WEXITSTATUS(status) == PORTAL_EXIT_OVERRUN)
						log_msg(PORTAL_LOG_ERR, NULL, "%s %d ended itself: a request ran past "
						        "core.request_timeout + database.read_timeout + 2 s; restarting",
						        what, (int)pid);
					else
						log_msg(PORTAL_LOG_ERR, NULL, "%s %d exited with %d; restarting", what,
						        (int)pid, WEXITSTATUS(status));
				}
			}
		}
	}

	log_msg(PORTAL_LOG_INFO, NULL, "stopping: waiting for workers to finish their requests");
	nworkers++; /* the probe too */
	for (int i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	/* workers of an earlier configuration still finishing: wait for them too */
	for (int k = 0; k < nold && nworkers < MAX_WORKERS + 1; k++)
		pids[nworkers++] = old_pids[k];
	time_t deadline = time(NULL) + 10;
	for (;;) {
		int alive = 0, status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (int i = 0; i < nworkers; i++)
				if (pids[i] == pid)
					pids[i] = 0;
		for (int i = 0; i < nworkers; i++)
			alive += pids[i] > 0;
		if (alive == 0)
			break;
		if (time(NULL) > deadline) {
			for (int i = 0; i < nworkers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			deadline = time(NULL) + 5;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	close(fd);
	if (listen_path[0] == '/')
		unlink(listen_path);
	if (pidfile)
		unlink(pidfile);
	log_msg(PORTAL_LOG_INFO, NULL, "stopped");
	plugin_unload_all(&plugins);
	conf_free(&conf);
	db_library_end();
	return 0;
}
