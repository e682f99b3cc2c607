/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The change set's journal formats and its path index (test-changeset.c covers commit, rollback
 * and recovery themselves). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <libgen.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "atomic-write.h"
#include "changeset.h"
#include "fileio.h"
#include "log.h"
#include "test-util.h"

static char root[] = "/tmp/test-changeset-journal.XXXXXX";

static void put(const char *path, const char *s) {
        _cleanup_free_ char *p = test_root_path(root, path), *copy = strdup(p);
        assert_int_equal(mkdir_parents(dirname(copy), 0755), 0);
        assert_int_equal(write_file_atomic(p, s, strlen(s), 0644, (uid_t) -1, (gid_t) -1), 0);
}

static void expect(const char *path, const char *s) {
        _cleanup_free_ char *c = NULL;
        assert_int_equal(read_root_file(test_root(root), path, 1 << 20, &c, NULL), 0);
        assert_string_equal(c, s);
}

static int setup(void **state) {
        assert_non_null(mkdtemp(root));
        return 0;
}

static int teardown(void **state) {
        char *cmd;
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        return 0;
}

/* A set journaled by version 1 (manifest, old-K, new-K) is still rolled back. */
static void test_version1_journal(void **state) {
        _cleanup_changeset_ ChangeSet *back = NULL;

        put("/boot/v1.conf", "new v1\n");
        put(CHANGESET_DIR "/00000001/manifest", "iommuctl-changeset 1\n0\t1\t1\t0644\t-1\t-1\tbls\t/boot/v1.conf\n");
        put(CHANGESET_DIR "/00000001/old-0", "old v1\n");
        put(CHANGESET_DIR "/00000001/new-0", "new v1\n");
        put(CHANGESET_DIR "/00000001/complete", "0\n");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->n_items, 1u);
        assert_string_equal(back->items[0].path, "/boot/v1.conf");
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/boot/v1.conf", "old v1\n");
}

/* Version 2: one journal file; many files in one directory, found by the index; a journal whose
 * contents do not add up is refused. */
static void test_version2_journal(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL, *back = NULL, *bad = NULL;
        _cleanup_free_ char *journal = NULL, *text = NULL;
        size_t size;
        char path[64], body[64];

        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        for (unsigned i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "/efi/loader/entries/e%03u.conf", i);
                snprintf(body, sizeof(body), "old %u\n", i);
                put(path, body);
                snprintf(body, sizeof(body), "new %u\n", i);
                assert_int_equal(changeset_add(cs, path, body, strlen(body), 0644, "bls"), 1);
        }
        for (unsigned i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "/efi/loader/entries/e%03u.conf", i);
                const ChangeItem *c = changeset_find(cs, path);
                assert_non_null(c);
                assert_string_equal(c->path, path);
                assert_int_equal(changeset_add(cs, path, "x", 1, 0644, "bls"), -EEXIST);
        }
        assert_null(changeset_find(cs, "/efi/loader/entries/e100.conf"));
        assert_int_equal(changeset_commit(cs), 0);
        expect("/efi/loader/entries/e042.conf", "new 42\n");

        assert_true(asprintf(&journal, "%s%s/%08u/journal", root, CHANGESET_DIR, cs->id) > 0);
        assert_int_equal(read_full_file(journal, 1 << 20, &text, &size), 0);
        assert_true(startswith(text, "iommuctl-changeset 2\n"));

        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->n_items, 100u);
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/efi/loader/entries/e000.conf", "old 0\n");
        expect("/efi/loader/entries/e099.conf", "old 99\n");

        /* One byte short: not a journal to trust. */
        assert_int_equal(write_file_atomic(journal, text, size - 1, 0600, (uid_t) -1, (gid_t) -1), 0);
        {
                _cleanup_free_ char *mark = NULL;
                assert_true(asprintf(&mark, "%s%s/%08u/rolled-back", root, CHANGESET_DIR, cs->id) > 0);
                assert_int_equal(unlink(mark), 0);
        }
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &bad), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_version1_journal),
                cmocka_unit_test(test_version2_journal),
        };
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        return cmocka_run_group_tests(tests, setup, teardown);
}
