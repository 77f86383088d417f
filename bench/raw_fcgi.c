/*
 * raw_fcgi.c - the FastCGI reference of `make bench`: the least a libfcgi
 * responder can do.  Each mapped URI answers the bytes of a file, read
 * into memory once at start, with the headers given for it; nothing else
 * happens per request (no parsing beyond libfcgi's own, no allocation,
 * no logging).  What the portal does on top of this is what the
 * benchmark's "portal/raw" ratio measures.
 *
 *   raw_fcgi -s SOCKET [-n WORKERS] [-p PIDFILE] [-q] -m URI=FILE [-H 'Name: value']... ...
 *
 * -m maps a DOCUMENT_URI to a file; the -H lines after an -m are that
 * mapping's headers (Content-Type among them).  Any other URI: 404.
 * Like portald, the master opens the socket (mode 0600), forks WORKERS
 * workers (default: online CPUs) that each answer one request at a time
 * (FCGX_Accept_r), and on SIGTERM/SIGINT stops them and removes the socket.
 * It writes and closes as portald does (core/fcgi_out.h, shared): an
 * answer of more than 8 KiB as FastCGI records with one writev, and the
 * connection closed at once when the request's stdin has been read to its
 * end, without libfcgi's lingering close; the reference must not pay for
 * what the portal no longer does.
 *
 * -q: one database read per request before the bytes are written: each
 * worker connects to MariaDB once (RAW_DB_SOCKET, RAW_DB_USER,
 * RAW_DB_PASSWORD, RAW_DB_NAME from the environment), prepares
 * RAW_DB_SQL once (one integer parameter, RAW_DB_ID) and per request
 * executes it and fetches its row, the least any answer read from the
 * database costs (`make bench`'s "raw + 1 read").  An error answers 503.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <fastcgi.h>
#include <fcgiapp.h>
#include <mysql.h>

#include "fcgi_out.h"

#define MAX_MAPS 16
#define MAX_WORKERS 256

struct map {
	const char *uri;
	char *resp; /* "Status: 200 OK\r\n" headers "\r\n" body */
	size_t len;
	char headers[4096];
	size_t hlen;
	const char *file;
};

static struct map maps[MAX_MAPS];
static int nmaps;
static int db_read; /* -q */
static MYSQL_STMT *db_stmt;
static long long db_id;

static const char db_failed[] = "Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 9\r\n\r\ndb error\n";
static volatile sig_atomic_t stop_flag;

static const char not_found[] = "Status: 404 Not Found\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 10\r\n\r\nnot found\n";

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
	FCGX_ShutdownPending();
}

static void
set_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL); /* no SA_RESTART: accept() returns EINTR */
}

static void
usage(void)
{
	fprintf(stderr, "usage: raw_fcgi -s SOCKET [-n WORKERS] [-p PIDFILE] [-q] "
	                "-m URI=FILE [-H 'Name: value']... ...\n");
	exit(2);
}

/* Reads `m->file` and builds the whole response in one buffer. */
static int
load_map(struct map *m)
{
	FILE *f = fopen(m->file, "rb");
	if (f == NULL) {
		fprintf(stderr, "raw_fcgi: %s: %s\n", m->file, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		fclose(f);
		return -1;
	}
	size_t blen = (size_t)st.st_size;
	char head[4096 + 128];
	int hl = snprintf(head, sizeof(head), "Status: 200 OK\r\n%sContent-Length: %zu\r\n\r\n",
	                  m->headers, blen);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		fclose(f);
		return -1;
	}
	m->len = (size_t)hl + blen;
	m->resp = malloc(m->len);
	if (m->resp == NULL) {
		fclose(f);
		return -1;
	}
	memcpy(m->resp, head, (size_t)hl);
	if (blen > 0 && fread(m->resp + hl, 1, blen, f) != blen) {
		fprintf(stderr, "raw_fcgi: %s: short read\n", m->file);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* The worker's connection and statement (-q); 0 or -1 with a message. */
static int
db_open(void)
{
	const char *sql = getenv("RAW_DB_SQL"), *id = getenv("RAW_DB_ID");
	MYSQL *my = mysql_init(NULL);
	if (my == NULL || sql == NULL || id == NULL)
		return -1;
	if (mysql_real_connect(my, NULL, getenv("RAW_DB_USER"), getenv("RAW_DB_PASSWORD"),
	                       getenv("RAW_DB_NAME"), 0, getenv("RAW_DB_SOCKET"), 0) == NULL) {
		fprintf(stderr, "raw_fcgi: %s\n", mysql_error(my));
		return -1;
	}
	db_id = strtoll(id, NULL, 10);
	if ((db_stmt = mysql_stmt_init(my)) == NULL ||
	    mysql_stmt_prepare(db_stmt, sql, strlen(sql)) != 0) {
		fprintf(stderr, "raw_fcgi: %s: %s\n", sql, mysql_error(my));
		return -1;
	}
	static MYSQL_BIND pb;
	pb.buffer_type = MYSQL_TYPE_LONGLONG;
	pb.buffer = &db_id;
	return mysql_stmt_bind_param(db_stmt, &pb) == 0 ? 0 : -1;
}

/* One execution of the statement, its rows fetched: 0, or -1. */
static int
db_run(void)
{
	if (mysql_stmt_execute(db_stmt) != 0 || mysql_stmt_store_result(db_stmt) != 0)
		return -1;
	int rc;
	while ((rc = mysql_stmt_fetch(db_stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED)
		;
	mysql_stmt_free_result(db_stmt);
	return rc == MYSQL_NO_DATA ? 0 : -1;
}

static void
worker(int fd)
{
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	set_signal(SIGTERM, on_stop);
	set_signal(SIGINT, on_stop);
	signal(SIGPIPE, SIG_IGN);
	FCGX_Request req;
	if (FCGX_InitRequest(&req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		_exit(1);
	if (db_read && db_open() != 0)
		_exit(1);
	while (!stop_flag) {
		if (FCGX_Accept_r(&req) < 0) {
			if (stop_flag)
				break;
			if (errno == EINTR)
				continue;
			break;
		}
		const char *uri = FCGX_GetParam("DOCUMENT_URI", req.envp);
		const struct map *m = NULL;
		for (int i = 0; uri && i < nmaps; i++)
			if (strcmp(uri, maps[i].uri) == 0) {
				m = &maps[i];
				break;
			}
		if (m && db_read && db_run() != 0)
			FCGX_PutStr(db_failed, (int)sizeof(db_failed) - 1, req.out);
		else if (m && m->len > FCGI_DIRECT_MIN)
			fcgi_write_direct(&req, m->resp, m->len);
		else if (m)
			FCGX_PutStr(m->resp, (int)m->len, req.out);
		else
			FCGX_PutStr(not_found, (int)sizeof(not_found) - 1, req.out);
		fcgi_close(&req);
	}
	FCGX_Free(&req, 0);
	_exit(0);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *pidfile = NULL;
	long nworkers = sysconf(_SC_NPROCESSORS_ONLN);
	int ch;
	while ((ch = getopt(argc, argv, "s:n:p:m:H:q")) != -1) {
		switch (ch) {
		case 'q': db_read = 1; break;
		case 's': sock = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'n': nworkers = strtol(optarg, NULL, 10); break;
		case 'm': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || nmaps == MAX_MAPS)
				usage();
			*eq = '\0';
			maps[nmaps].uri = optarg;
			maps[nmaps].file = eq + 1;
			nmaps++;
			break;
		}
		case 'H': {
			if (nmaps == 0 || strpbrk(optarg, "\r\n"))
				usage();
			struct map *m = &maps[nmaps - 1];
			size_t n = strlen(optarg);
			if (m->hlen + n + 3 > sizeof(m->headers))
				usage();
			memcpy(m->headers + m->hlen, optarg, n);
			memcpy(m->headers + m->hlen + n, "\r\n", 3);
			m->hlen += n + 2;
			break;
		}
		default: usage();
		}
	}
	if (sock == NULL || nmaps == 0 || optind != argc)
		usage();
	if (nworkers < 1)
		nworkers = 1;
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;
	for (int i = 0; i < nmaps; i++)
		if (load_map(&maps[i]) != 0)
			return 1;

	if (FCGX_Init() != 0)
		return 1;
	unlink(sock);
	mode_t old = umask(0177);
	int fd = FCGX_OpenSocket(sock, 128);
	umask(old);
	if (fd < 0) {
		fprintf(stderr, "raw_fcgi: cannot listen on %s\n", sock);
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL)
			return 1;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	set_signal(SIGTERM, on_stop);
	set_signal(SIGINT, on_stop);
	pid_t pids[MAX_WORKERS];
	for (long i = 0; i < nworkers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(fd);
		if (pids[i] < 0) {
			perror("raw_fcgi: fork");
			pids[i] = 0;
		}
	}
	fprintf(stderr, "raw_fcgi: %d URI(s) on %s, %ld workers\n", nmaps, sock, nworkers);
	while (!stop_flag)
		pause();
	for (long i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (long i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	unlink(sock);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
