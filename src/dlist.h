/* dlist.h: the doubly linked list the I/O thread (io.c) and host mode's
 * router (host_router.c) keep their connections on: any element with
 * prev/next pointers, any list with head/tail/count. Appending keeps a list
 * in deadline order when every element gets the same timeout. */
#ifndef SW_DLIST_H
#define SW_DLIST_H

#define SW_DLIST_APPEND(list, elem)                                                        \
    do {                                                                                   \
        (elem)->prev = (list)->tail;                                                       \
        (elem)->next = NULL;                                                               \
        if ((list)->tail)                                                                  \
            (list)->tail->next = (elem);                                                   \
        else                                                                               \
            (list)->head = (elem);                                                         \
        (list)->tail = (elem);                                                             \
        (list)->count++;                                                                   \
    } while (0)

#define SW_DLIST_REMOVE(list, elem)                                                        \
    do {                                                                                   \
        if ((elem)->prev)                                                                  \
            (elem)->prev->next = (elem)->next;                                             \
        else                                                                               \
            (list)->head = (elem)->next;                                                   \
        if ((elem)->next)                                                                  \
            (elem)->next->prev = (elem)->prev;                                             \
        else                                                                               \
            (list)->tail = (elem)->prev;                                                   \
        (elem)->prev = (elem)->next = NULL;                                                \
        (list)->count--;                                                                   \
    } while (0)

#endif
