/* test_http_guard.c — src/http/guard.c: the pre-auth byte pool (reserve up to
 * the cap, refuse without taking anything, release, 0 = no cap) and the
 * connection deadlines on real sockets (socketpairs): a connection whose
 * headers do not finish within header_timeout is shut down even while bytes
 * trickle; a body below min_body_rate is cut after the grace; a busy one, a
 * fast body and a keep-alive wait within the idle timeout are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/guard.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_pool(void **state) {
    (void)state;
    http_config cfg = {.preauth_memory = 100};
    http_guard *g = guard_new(&cfg);
    assert_true(guard_reserve(g, 60));
    assert_false(guard_reserve(g, 41)); /* would make 101 */
    assert_true(guard_reserve(g, 40));  /* exactly the cap */
    assert_false(guard_reserve(g, 1));
    guard_release(g, 60);
    assert_true(guard_reserve(g, 60));
    guard_release(g, 100);
    assert_true(guard_reserve(g, 100));
    guard_release(g, 100);
    guard_free(g);
    http_config none = {0};
    g = guard_new(&none); /* no cap, no sweeper */
    assert_true(guard_reserve(g, (size_t)1 << 40));
    guard_release(g, (size_t)1 << 40);
    guard_free(g);
}

/* True when the peer of `fd` was shut down (EOF) within ms milliseconds. */
static bool peer_closed_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) return false;
    char c;
    return read(fd, &c, 1) == 0;
}

static void pair(int sv[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_header_deadline(void **state) {
    (void)state;
    http_config cfg = {.header_timeout = 1, .min_body_rate = 1000};
    http_guard *g = guard_new(&cfg);
    int slow[2], busy[2];
    pair(slow);
    pair(busy);
    guard_conn *cs = guard_conn_open(g, slow[0]);
    guard_conn *cb = guard_conn_open(g, busy[0]);
    guard_conn_body_start(cb);
    guard_conn_busy(cb); /* being answered: no deadline */
    assert_false(peer_closed_within(slow[1], 700));
    assert_true(peer_closed_within(slow[1], 3000)); /* 1 s + a sweep */
    assert_false(peer_closed_within(busy[1], 300));
    guard_conn_close(g, cs);
    guard_conn_close(g, cb);
    guard_free(g);
    close(slow[0]);
    close(slow[1]);
    close(busy[0]);
    close(busy[1]);
}

static void test_body_rate_and_keepalive(void **state) {
    (void)state;
    http_config cfg = {.header_timeout = 1, .min_body_rate = 1000};
    http_guard *g = guard_new(&cfg);
    int slow[2], fast[2], idle[2];
    pair(slow);
    pair(fast);
    pair(idle);
    guard_conn *cs = guard_conn_open(g, slow[0]);
    guard_conn *cf = guard_conn_open(g, fast[0]);
    guard_conn *ci = guard_conn_open(g, idle[0]);
    guard_conn_body_start(cs);
    guard_conn_body_start(cf);
    guard_conn_idle(g, ci); /* after a response: the idle timeout (20 s) applies */
    guard_conn_body_bytes(cs, 10);
    guard_conn_body_bytes(cf, 1u << 20);
    assert_false(peer_closed_within(slow[1], 700)); /* the grace */
    assert_true(peer_closed_within(slow[1], 3000));
    assert_false(peer_closed_within(fast[1], 200));
    assert_false(peer_closed_within(idle[1], 200));
    guard_conn_close(g, cs);
    guard_conn_close(g, cf);
    guard_conn_close(g, ci);
    guard_free(g);
    for (int i = 0; i < 2; i++) {
        close(slow[i]);
        close(fast[i]);
        close(idle[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_body_rate_and_keepalive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
