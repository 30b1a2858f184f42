/* fault.h: fault injection for the tests of error paths that need an
 * allocation or a system call to fail (issue 10, defect 9).
 *
 * SW_FAULT("name") goes right where a real call can fail, as one more way
 * for it to fail:
 *     if (SW_FAULT("loader_post") || !(c = calloc(1, sizeof *c)))
 *     fd = SW_FAULT("io_epoll") ? -1 : epoll_create1(EPOLL_CLOEXEC);
 *
 * In the server that ships (src/subwsgi) it is the constant 0: the
 * compiler drops the branch and the name, and the binary has no hook
 * (tests/integration/test_faults.c checks). Only src/subwsgi-fault, built
 * with -DSW_FAULT_INJECTION (Makefile.am), has fault points: there it
 * fails when the environment variable SUBWSGI_FAULTS names the point
 * (src/fault.c), and then sets errno to ENOMEM, which every call behind a
 * fault point documents. */
#ifndef SW_FAULT_H
#define SW_FAULT_H

#ifdef SW_FAULT_INJECTION
/* 1 when this call of fault point name must fail (errno is then ENOMEM),
 * else 0. Thread-safe; allocates nothing. */
int sw_fault_hit(const char *name);
#define SW_FAULT(name) sw_fault_hit(name)
#else
#define SW_FAULT(name) 0
#endif

#endif
