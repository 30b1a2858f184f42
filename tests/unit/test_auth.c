/* test_auth.c: admin/auth.c: the Authorization header, SHA-256 against
 * sha256sum, finding the user of a token (constant time: every byte of every
 * user), and who may see which app. Tables walked inside one Test each
 * (Criterion re-executes the binary per test: no pointers as parameters). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

/* ---- helpers ------------------------------------------------------------------ */

static void hex_to_bytes(const char *hex, unsigned char out[32])
{
    cr_assert_eq(strlen(hex), 64, "bad test vector %s", hex);
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
}

static void bytes_to_hex(const unsigned char in[32], char out[65])
{
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

#define ALICE_TOKEN "alice-token-0123456789"
#define BOB_TOKEN "bob-token-abcdefghij"
#define ROOT_TOKEN "root-token-ZYXWVUTSRQ"
/* printf %s TOKEN | sha256sum */
#define ALICE_SHA "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"
#define BOB_SHA "7e875e1af05facc87c6a24cde83d270e00e03acf38b117e6778f9ac7d9536d8e"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

/* alice (user), bob (user), root (admin), plus two decoys whose hashes
 * differ from alice's only in the first or the last byte. */
static sw_user_config_t users[5];
static sw_config_t cfg;

static void setup_users(void)
{
    memset(users, 0, sizeof users);
    users[0] = (sw_user_config_t){.name = "alice", .role = SW_ROLE_USER};
    users[1] = (sw_user_config_t){.name = "bob", .role = SW_ROLE_USER};
    users[2] = (sw_user_config_t){.name = "root", .role = SW_ROLE_ADMIN};
    users[3] = (sw_user_config_t){.name = "first-byte", .role = SW_ROLE_ADMIN};
    users[4] = (sw_user_config_t){.name = "last-byte", .role = SW_ROLE_ADMIN};
    hex_to_bytes(ALICE_SHA, users[0].token_sha256);
    hex_to_bytes(BOB_SHA, users[1].token_sha256);
    hex_to_bytes(ROOT_SHA, users[2].token_sha256);
    hex_to_bytes(ALICE_SHA, users[3].token_sha256);
    users[3].token_sha256[0] ^= 0x01;
    hex_to_bytes(ALICE_SHA, users[4].token_sha256);
    users[4].token_sha256[31] ^= 0x80;
    memset(&cfg, 0, sizeof cfg);
    cfg.users = users;
    cfg.n_users = 5;
}

TestSuite(auth);

/* ---- the header ------------------------------------------------------------------ */

Test(auth, bearer_header_variants)
{
    static const struct {
        const char *header;
        const char *token;   /* NULL: no token */
    } cases[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER abc", "abc"},
        {"BeArEr abc", "abc"},
        {"Bearer   abc", "abc"},
        {"Bearer abc   ", "abc"},
        {"   Bearer abc", "abc"},
        {"Bearer\tabc\t", "abc"},
        {"Bearer a=b/c+d~e!x", "a=b/c+d~e!x"},
        {"Bearer " ALICE_TOKEN, ALICE_TOKEN},
        {NULL, NULL},
        {"", NULL},
        {"   ", NULL},
        {"Bearer", NULL},
        {"Bearer ", NULL},
        {"Bearer     ", NULL},
        {"Bearerabc", NULL},
        {"Bearer: abc", NULL},
        {"Basic YWxpY2U6c2VjcmV0", NULL},
        {"Token abc", NULL},
        {"Digest username=\"x\"", NULL},
        {"Bearer a b", NULL},
        {"Bearer abc def", NULL},
        {"Bearer abc\r", NULL},
        {"Bearer ab\x01" "c", NULL},
        {"Bearer abc\x7f", NULL},
        {"Bear abc", NULL},
        {"XBearer abc", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 12345;
        const char *tok = sw_auth_bearer_token(cases[i].header, &len);
        const char *h = cases[i].header ? cases[i].header : "(NULL)";
        if (!cases[i].token) {
            cr_expect_null(tok, "case %zu \"%s\": want no token, got \"%.*s\"", i, h,
                           tok ? (int)len : 0, tok ? tok : "");
            continue;
        }
        cr_expect_not_null(tok, "case %zu \"%s\": want \"%s\", got none", i, h,
                           cases[i].token);
        if (!tok)
            continue;
        cr_expect_eq(len, strlen(cases[i].token), "case %zu \"%s\": length %zu", i, h, len);
        cr_expect(strncmp(tok, cases[i].token, len) == 0, "case %zu \"%s\": got \"%.*s\"",
                  i, h, (int)len, tok);
        /* It points into the header: nothing is copied. */
        cr_expect(tok >= cases[i].header && tok < cases[i].header + strlen(cases[i].header),
                  "case %zu: token not inside the header", i);
    }
}

/* ---- hashing ---------------------------------------------------------------------- */

Test(auth, sha256_known_vectors)
{
    static const struct {
        const char *data, *hex;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {ALICE_TOKEN, ALICE_SHA},
        {BOB_TOKEN, BOB_SHA},
        {ROOT_TOKEN, ROOT_SHA},
        {"a=b/c+d~e!x", "7c0c08887b7cf38288fd2f52d94ee2355d68439016a94939940e79c24b37b7f0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char out[32];
        char hex[65];
        cr_assert_eq(sw_auth_sha256(cases[i].data, strlen(cases[i].data), out), 0);
        bytes_to_hex(out, hex);
        cr_expect_str_eq(hex, cases[i].hex, "sha256(\"%s\")", cases[i].data);
    }
}

/* The same digests as `printf %s TOKEN | sha256sum`, computed now. */
Test(auth, sha256_matches_sha256sum)
{
    static const char *const tokens[] = {ALICE_TOKEN, "x", "with space and 'quote'",
                                         "0123456789abcdef0123456789abcdef0123456789"};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        char path[] = "/tmp/test_auth-XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        FILE *f = fdopen(fd, "w");
        cr_assert_not_null(f);
        fputs(tokens[i], f);
        fclose(f);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "sha256sum < %s", path);
        FILE *p = popen(cmd, "r");
        cr_assert_not_null(p, "popen sha256sum");
        char want[65] = "";
        int got = fscanf(p, "%64s", want);
        pclose(p);
        unlink(path);
        cr_assert_eq(got, 1, "sha256sum printed nothing");
        unsigned char out[32];
        char hex[65];
        cr_assert_eq(sw_auth_sha256(tokens[i], strlen(tokens[i]), out), 0);
        bytes_to_hex(out, hex);
        cr_expect_str_eq(hex, want, "token \"%s\"", tokens[i]);
    }
}

/* ---- finding the user ------------------------------------------------------------ */

Test(auth, user_by_token)
{
    setup_users();
    static const struct {
        const char *header;
        const char *user;   /* NULL: unauthorized */
    } cases[] = {
        {"Bearer " ALICE_TOKEN, "alice"},
        {"bearer " ALICE_TOKEN, "alice"},
        {"Bearer   " ALICE_TOKEN "  ", "alice"},
        {"Bearer " BOB_TOKEN, "bob"},
        {"Bearer " ROOT_TOKEN, "root"},
        {"Bearer wrong-token-000000000", NULL},
        {"Bearer " ALICE_TOKEN "x", NULL},
        {"Bearer alice-token-012345678", NULL},   /* a prefix */
        {"Bearer " ALICE_SHA, NULL},              /* the hash is not the token */
        {"Basic " ALICE_TOKEN, NULL},
        {ALICE_TOKEN, NULL},
        {"Bearer", NULL},
        {"Bearer ", NULL},
        {"", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sw_user_config_t *u = sw_auth_user(&cfg, cases[i].header);
        const char *h = cases[i].header ? cases[i].header : "(NULL)";
        if (!cases[i].user) {
            cr_expect_null(u, "case %zu \"%s\": want unauthorized, got %s", i, h,
                           u ? u->name : "");
            continue;
        }
        cr_expect_not_null(u, "case %zu \"%s\": want %s, got unauthorized", i, h,
                           cases[i].user);
        if (u)
            cr_expect_str_eq(u->name, cases[i].user, "case %zu \"%s\"", i, h);
    }
}

Test(auth, user_is_borrowed_from_the_config)
{
    setup_users();
    const sw_user_config_t *u = sw_auth_user(&cfg, "Bearer " ROOT_TOKEN);
    cr_assert_eq(u, &users[2]);
    cr_expect_eq(u->role, SW_ROLE_ADMIN);
    u = sw_auth_user(&cfg, "Bearer " BOB_TOKEN);
    cr_assert_eq(u, &users[1]);
    cr_expect_eq(u->role, SW_ROLE_USER);
}

/* A hash equal to a user's in 31 of 32 bytes (first or last differing)
 * matches nobody: every byte is compared. */
Test(auth, every_byte_is_compared)
{
    setup_users();
    /* Only the decoys are left: alice's token matches neither. */
    sw_config_t decoys = {.users = &users[3], .n_users = 2};
    cr_expect_null(sw_auth_user(&decoys, "Bearer " ALICE_TOKEN));
    sw_config_t last = {.users = &users[4], .n_users = 1};
    cr_expect_null(sw_auth_user(&last, "Bearer " ALICE_TOKEN));
    sw_config_t first = {.users = &users[3], .n_users = 1};
    cr_expect_null(sw_auth_user(&first, "Bearer " ALICE_TOKEN));
    /* ... and with alice present after them, the search does not stop at
     * the near misses. */
    sw_user_config_t order[3] = {users[3], users[4], users[0]};
    sw_config_t c3 = {.users = order, .n_users = 3};
    const sw_user_config_t *u = sw_auth_user(&c3, "Bearer " ALICE_TOKEN);
    cr_assert_not_null(u);
    cr_expect_str_eq(u->name, "alice");
}

Test(auth, no_users_or_no_config)
{
    sw_config_t empty = {0};
    cr_expect_null(sw_auth_user(&empty, "Bearer " ALICE_TOKEN));
    cr_expect_null(sw_auth_user(NULL, "Bearer " ALICE_TOKEN));
}

/* ---- visibility ------------------------------------------------------------------- */

Test(auth, can_see_rules)
{
    setup_users();
    static sw_app_config_t acfg[4];
    static sw_app_t apps[4];
    memset(acfg, 0, sizeof acfg);
    memset(apps, 0, sizeof apps);
    acfg[0] = (sw_app_config_t){.name = "alice-blog", .owner = "alice"};
    acfg[1] = (sw_app_config_t){.name = "bob-shop", .owner = "bob"};
    acfg[2] = (sw_app_config_t){.name = "ops", .owner = NULL};       /* admins only */
    acfg[3] = (sw_app_config_t){.name = "alicex", .owner = "alicex"}; /* prefix trap */
    for (int i = 0; i < 4; i++) {
        apps[i].cfg = &acfg[i];
        apps[i].name = acfg[i].name;
    }
    sw_user_config_t alic = {.name = "alic", .role = SW_ROLE_USER};
    static const struct {
        int user;   /* index in users[], or -1: NULL, 5: "alic" */
        int app;
        int want;
    } cases[] = {
        {0, 0, 1}, {0, 1, 0}, {0, 2, 0}, {0, 3, 0},   /* alice */
        {1, 0, 0}, {1, 1, 1}, {1, 2, 0}, {1, 3, 0},   /* bob */
        {2, 0, 1}, {2, 1, 1}, {2, 2, 1}, {2, 3, 1},   /* root (admin) */
        {5, 0, 0}, {5, 3, 0},                         /* "alic" */
        {-1, 0, 0}, {-1, 2, 0},                       /* nobody */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sw_user_config_t *u = cases[i].user < 0   ? NULL
                                    : cases[i].user == 5 ? &alic
                                                         : &users[cases[i].user];
        int got = sw_auth_can_see(u, &apps[cases[i].app]);
        cr_expect_eq(got, cases[i].want, "case %zu: %s sees %s: %d, want %d", i,
                     u ? u->name : "(none)", apps[cases[i].app].name, got, cases[i].want);
    }
    cr_expect_eq(sw_auth_can_see(&users[2], NULL), 0);
}
