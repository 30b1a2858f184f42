/* crashpad.c: the slots of what a worker runs (see crashpad.h). A slot is
 * [0] 1 when it holds a line, then the line, NUL-terminated. */
#include "crashpad.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned char *pad;           /* the worker's mapping, or NULL */
static atomic_int next_slot;
static _Thread_local int my_slot = -1;

int sw_crashpad_attach(int fd)
{
    void *p = mmap(NULL, SW_CRASHPAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    pad = p;
    return 0;
}

void sw_crashpad_enter(const char *app, const char *what, const char *detail)
{
    if (!pad)
        return;
    if (my_slot < 0) {
        int n = atomic_fetch_add(&next_slot, 1);
        if (n >= SW_CRASHPAD_SLOTS)
            return;   /* more threads than slots: this one goes unnamed */
        my_slot = n;
    }
    unsigned char *s = pad + (size_t)my_slot * SW_CRASHPAD_SLOT;
    s[0] = 0;
    snprintf((char *)s + 1, SW_CRASHPAD_SLOT - 1, "%s\t%s%s%s", app ? app : "-",
             what ? what : "-", detail ? " " : "", detail ? detail : "");
    atomic_thread_fence(memory_order_release);
    s[0] = 1;
}

void sw_crashpad_leave(void)
{
    if (pad && my_slot >= 0)
        pad[(size_t)my_slot * SW_CRASHPAD_SLOT] = 0;
}

void *sw_crashpad_create(int *fd)
{
    *fd = memfd_create("subwsgi-crashpad", MFD_CLOEXEC);
    if (*fd < 0)
        return NULL;
    if (ftruncate(*fd, SW_CRASHPAD_SIZE) < 0) {
        close(*fd);
        *fd = -1;
        return NULL;
    }
    void *p = mmap(NULL, SW_CRASHPAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p == MAP_FAILED) {
        close(*fd);
        *fd = -1;
        return NULL;
    }
    return p;
}

void sw_crashpad_destroy(void *p, int fd)
{
    if (p)
        munmap(p, SW_CRASHPAD_SIZE);
    if (fd >= 0)
        close(fd);
}

void sw_crashpad_describe(const void *p, char *out, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; p && i < SW_CRASHPAD_SLOTS; i++) {
        const unsigned char *s = (const unsigned char *)p + i * SW_CRASHPAD_SLOT;
        if (s[0] != 1)
            continue;
        if (o > 0 && o + 2 < len) {
            out[o++] = ';';
            out[o++] = ' ';
        }
        for (size_t k = 1; k < SW_CRASHPAD_SLOT && s[k] && o + 1 < len; k++)
            out[o++] = s[k] == '\t' ? ' ' : s[k] >= 0x20 && s[k] < 0x7f ? (char)s[k] : '?';
    }
    out[o] = '\0';
}
