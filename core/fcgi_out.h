/*
 * fcgi_out.h - how a worker writes an answer and ends a request with
 * libfcgi, shared by portald (core/server/main.c, the only core file that
 * knows libfcgi) and the bench's raw responder (bench/raw_fcgi.c), which
 * must write and close exactly as portald does.  Include after
 * <fastcgi.h> and <fcgiapp.h>.
 */
#ifndef PORTAL_FCGI_OUT_H
#define PORTAL_FCGI_OUT_H

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/*
 * libfcgi's output stream copies an answer into an 8 KiB buffer and writes
 * each full one: a 28 KiB list was four write()s.  An answer of more than
 * FCGI_DIRECT_MIN bytes, while nothing of the request waits in that buffer
 * (else the order would change), goes out as FCGI_STDOUT records of up to
 * 65,535 bytes each with one writev() (several for more than 1 MiB).  The
 * end of the stream and FCGI_END_REQUEST stay libfcgi's (FCGX_Finish_r).
 * It writes to FCGX_Request's ipcFd, a field fcgiapp.h lists among those
 * not to use: it has been the connection's descriptor through libfcgi 2.4.
 */
#define FCGI_DIRECT_MIN 8192
#define FCGI_DIRECT_RECORDS 16

static inline int
fcgi_write_direct(FCGX_Request *req, const char *buf, size_t n)
{
	while (n > 0) {
		FCGI_Header h[FCGI_DIRECT_RECORDS];
		struct iovec iov[2 * FCGI_DIRECT_RECORDS];
		int k = 0;
		size_t total = 0;
		for (; k < FCGI_DIRECT_RECORDS && total < n; k++) {
			size_t len = n - total > FCGI_MAX_LENGTH ? FCGI_MAX_LENGTH : n - total;
			memset(&h[k], 0, sizeof(h[k]));
			h[k].version = FCGI_VERSION_1;
			h[k].type = FCGI_STDOUT;
			h[k].requestIdB1 = (unsigned char)((req->requestId >> 8) & 0xff);
			h[k].requestIdB0 = (unsigned char)(req->requestId & 0xff);
			h[k].contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
			h[k].contentLengthB0 = (unsigned char)(len & 0xff);
			iov[2 * k].iov_base = &h[k];
			iov[2 * k].iov_len = sizeof(h[k]);
			iov[2 * k + 1].iov_base = (void *)(buf + total);
			iov[2 * k + 1].iov_len = len;
			total += len;
		}
		/* all of it, across partial writes and signals */
		struct iovec *v = iov;
		int nv = 2 * k;
		while (nv > 0) {
			ssize_t w = writev(req->ipcFd, v, nv);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			while (nv > 0 && (size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				v++;
				nv--;
			}
			if (nv > 0) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
			}
		}
		buf += total;
		n -= total;
	}
	return 0;
}

/*
 * The end of a request.  libfcgi's own close is a lingering one: shutdown,
 * then poll and read until nginx hangs up (up to 2 s), so that data nginx
 * still sends cannot turn the close into a reset that loses the answer.
 * That costs three syscalls and a wait for nginx's event loop before the
 * worker can accept again.  Nothing is left to arrive once the request's
 * stdin has been read to its end (nginx sends no more on a connection
 * without FCGI_KEEP_CONN), so then the connection is closed at once
 * (FCGX_Detach: closed without the shutdown); a body left unread beyond
 * FCGI_DRAIN_MAX (an early 413) keeps the lingering close.  The end of an
 * unread GET's stdin is in the buffer libfcgi read the parameters with:
 * no syscall.
 */
#define FCGI_DRAIN_MAX (64 * 1024)

static inline void
fcgi_close(FCGX_Request *req)
{
	char buf[4096];
	size_t got = 0;
	int n = 1;
	while (!FCGX_HasSeenEOF(req->in) && got <= FCGI_DRAIN_MAX &&
	       (n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0)
		got += (size_t)n;
	if (FCGX_HasSeenEOF(req->in) && FCGX_GetError(req->in) == 0)
		FCGX_Detach(req);
	FCGX_Finish_r(req);
}

#endif
