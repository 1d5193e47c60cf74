/* LD_PRELOAD shim for the capture recipe: every IPv4 TCP socket a client
 * connects or listens with is first bound to $BIND_ADDR (port 0), so each
 * simulated user of gen_travel.py has its own loopback address even with
 * clients that have no bind option (ncftp). Build:
 *   cc -shared -fPIC -o bindshim.so bindshim.c -ldl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void bind_first(int fd) {
    const char *a = getenv("BIND_ADDR");
    struct sockaddr_in cur;
    socklen_t len = sizeof cur;
    if (!a || getsockname(fd, (struct sockaddr *)&cur, &len) != 0 || cur.sin_family != AF_INET)
        return;
    if (cur.sin_port != 0 || cur.sin_addr.s_addr != 0)
        return; /* already bound */
    struct sockaddr_in b;
    memset(&b, 0, sizeof b);
    b.sin_family = AF_INET;
    if (inet_pton(AF_INET, a, &b.sin_addr) != 1)
        return;
    bind(fd, (struct sockaddr *)&b, sizeof b);
}

int connect(int fd, const struct sockaddr *sa, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "connect");
    if (sa && sa->sa_family == AF_INET)
        bind_first(fd);
    return real(fd, sa, len);
}

int listen(int fd, int backlog) {
    static int (*real)(int, int);
    if (!real)
        real = dlsym(RTLD_NEXT, "listen");
    bind_first(fd);
    return real(fd, backlog);
}
