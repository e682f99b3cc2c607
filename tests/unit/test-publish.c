/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "libiommu/fileio.h"
#include "libiommu/log.h"
#include "libiommu/publish.h"
#include "libiommu/strv.h"
#include "test-util.h"

static char root[] = "/tmp/test-publish.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int setup(void **state) {
        return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
        return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static NodeState passthrough_node(void) {
        NodeState s = {
                .profile = "gpu-sriov",
                .expected_mode = MODE_PASSTHROUGH,
                .observed_mode = "passthrough",
                .verified = true,
                .vfio_available = true,
                .firmware_iommu = true,
                .iommufd = 1,
                .verdict = "pass",
        };
        s.groups_by_type[DOMAIN_IDENTITY] = 4;
        return s;
}

static NodeState drifted_node(void) {
        NodeState s = {
                .profile = "strict",
                .expected_mode = MODE_STRICT,
                .observed_mode = "translated",
                .verified = false,
                .vfio_available = true,
                .firmware_iommu = true,
                .iommufd = -1,
                .verdict = "fail",
        };
        s.groups_by_type[DOMAIN_DMA_FQ] = 3;
        s.groups_by_type[DOMAIN_UNMANAGED] = 1;
        return s;
}

static bool regex_match(const char *re, const char *s) {
        regex_t r;
        bool m;

        assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
        m = regexec(&r, s, 0, NULL, 0) == 0;
        regfree(&r);
        return m;
}

/* NFD's local source format (docs/usage/customization-guide.md, "Input format"): comment lines, or
 * "<namespace>/<name>[=<value>]" where name and value follow Kubernetes' label rules. */
static void check_nfd_format(const char *text) {
        _cleanup_strv_free_ char **lines = NULL;

        assert_true(endswith(text, "\n"));
        assert_int_equal(strv_split(text, "\n", &lines), 0);
        STRV_FOREACH(l, lines) {
                if ((*l)[0] == '#')
                        continue;
                if (!regex_match("^feature\\.node\\.kubernetes\\.io/[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
                                 "=([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$", *l))
                        fail_msg("not an NFD feature line: '%s'", *l);
        }
}

/* A strict reading of the Prometheus text exposition format (0.0.4) for gauges: every metric family
 * has exactly one HELP and one TYPE line before its samples, samples of a family are contiguous,
 * label values are escaped, values are numbers, no series appears twice. */
static void check_prometheus_format(const char *text) {
        _cleanup_strv_free_ char **lines = NULL, **families = NULL, **series = NULL;
        const char *name_re = "[a-zA-Z_:][a-zA-Z0-9_:]*";
        _cleanup_free_ char *help_re = NULL, *type_re = NULL, *sample_re = NULL;
        char family[128] = "";
        bool have_help = false, have_type = false;

        assert_true(asprintf(&help_re, "^# HELP %s [^\\\\\n]*$", name_re) > 0);
        assert_true(asprintf(&type_re, "^# TYPE %s (gauge|counter|untyped)$", name_re) > 0);
        assert_true(asprintf(&sample_re,
                             "^%s(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
                             "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\})? "
                             "-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$",
                             name_re) > 0);

        assert_true(endswith(text, "\n"));
        assert_int_equal(strv_split(text, "\n", &lines), 0);
        STRV_FOREACH(l, lines) {
                char name[128];

                if (startswith(*l, "# HELP ")) {
                        if (!regex_match(help_re, *l))
                                fail_msg("bad HELP line: '%s'", *l);
                        assert_int_equal(sscanf(*l, "# HELP %127s", name), 1);
                        if (strv_contains(families, name))
                                fail_msg("second HELP for %s", name);
                        assert_int_equal(strv_extend(&families, name), 0);
                        strcpy(family, name);
                        have_help = true;
                        have_type = false;
                } else if (startswith(*l, "# TYPE ")) {
                        if (!regex_match(type_re, *l))
                                fail_msg("bad TYPE line: '%s'", *l);
                        assert_int_equal(sscanf(*l, "# TYPE %127s", name), 1);
                        assert_true(have_help);
                        assert_string_equal(name, family);
                        assert_false(have_type);
                        have_type = true;
                } else {
                        if (!regex_match(sample_re, *l))
                                fail_msg("bad sample line: '%s'", *l);
                        assert_true(have_type);
                        assert_true(strneq(*l, family, strlen(family)));
                        assert_true(strchr("{ ", (*l)[strlen(family)]) != NULL);
                        /* The series is everything before the value. */
                        *strrchr(*l, ' ') = '\0';
                        if (strv_contains(series, *l))
                                fail_msg("series %s appears twice", *l);
                        assert_int_equal(strv_extend(&series, *l), 0);
                }
        }
}

static void test_nfd_render(void **state) {
        NodeState s = passthrough_node();
        _cleanup_free_ char *text = NULL;

        assert_int_equal(publish_nfd_render(&s, &text), 0);
        check_nfd_format(text);
        assert_non_null(strstr(text,
                               "\nfeature.node.kubernetes.io/iommu.profile=gpu-sriov\n"
                               "feature.node.kubernetes.io/iommu.mode=passthrough\n"
                               "feature.node.kubernetes.io/iommu.expected-mode=passthrough\n"
                               "feature.node.kubernetes.io/iommu.verified=true\n"
                               "feature.node.kubernetes.io/iommu.verdict=pass\n"
                               "feature.node.kubernetes.io/iommu.vfio=true\n"
                               "feature.node.kubernetes.io/iommu.firmware=true\n"
                               "feature.node.kubernetes.io/iommu.iommufd=true\n"));
        /* iommufd readiness unknown (no /dev, no build configuration): no label rather than a guess. */
        {
                NodeState d = drifted_node();
                _cleanup_free_ char *t2 = NULL;
                assert_int_equal(publish_nfd_render(&d, &t2), 0);
                assert_null(strstr(t2, "iommu.iommufd"));
        }
}

static void test_nfd_bad_values_left_out(void **state) {
        NodeState s = drifted_node();
        _cleanup_free_ char *text = NULL;

        s.profile = "-not a label value";
        s.observed_mode = NULL;
        s.verdict = "";
        log_set_max_level(LOG_LEVEL_ERROR); /* the warning is expected */
        assert_int_equal(publish_nfd_render(&s, &text), 0);
        log_set_max_level(LOG_LEVEL_INFO);
        check_nfd_format(text);
        assert_null(strstr(text, "iommu.profile="));
        assert_null(strstr(text, "iommu.mode="));
        assert_null(strstr(text, "iommu.verdict="));
        assert_non_null(strstr(text, "\nfeature.node.kubernetes.io/iommu.expected-mode=strict\n"));
        assert_non_null(strstr(text, "\nfeature.node.kubernetes.io/iommu.verified=false\n"));
}

static void test_prometheus_render(void **state) {
        NodeState s = drifted_node();
        _cleanup_free_ char *text = NULL;

        assert_int_equal(publish_prometheus_render(&s, &text), 0);
        check_prometheus_format(text);
        assert_non_null(strstr(text, "\niommu_node_info{profile=\"strict\",verdict=\"fail\"} 1\n"));
        assert_non_null(strstr(text, "\niommu_verified 0\n"));
        assert_non_null(strstr(text, "\niommu_mode_expected{mode=\"strict\"} 1\n"));
        assert_non_null(strstr(text, "\niommu_mode_expected{mode=\"translated\"} 0\n"));
        assert_non_null(strstr(text, "\niommu_mode_observed{mode=\"translated\"} 1\n"));
        assert_non_null(strstr(text, "\niommu_mode_observed{mode=\"strict\"} 0\n"));
        assert_non_null(strstr(text, "\niommu_firmware_present 1\n"));
        assert_non_null(strstr(text, "\niommu_vfio_available 1\n"));
        assert_non_null(strstr(text, "\niommu_groups{type=\"DMA-FQ\"} 3\n"));
        assert_non_null(strstr(text, "\niommu_groups{type=\"unmanaged\"} 1\n"));
        assert_non_null(strstr(text, "\niommu_groups{type=\"identity\"} 0\n"));
        assert_null(strstr(text, "type=\"none\""));
}

static void test_prometheus_escaping(void **state) {
        NodeState s = passthrough_node();
        _cleanup_free_ char *text = NULL;

        s.verdict = "odd \"verdict\"\\\nline";
        s.observed_mode = "mixed";
        assert_int_equal(publish_prometheus_render(&s, &text), 0);
        check_prometheus_format(text);
        assert_non_null(strstr(text, "verdict=\"odd \\\"verdict\\\"\\\\\\nline\"} 1\n"));
        /* An unknown observed mode gets its own series rather than all zeros. */
        assert_non_null(strstr(text, "\niommu_mode_observed{mode=\"mixed\"} 1\n"));
        assert_non_null(strstr(text, "\niommu_mode_observed{mode=\"passthrough\"} 0\n"));
}

/* The checker itself must reject what is wrong, or the tests above prove nothing. Each case runs in
 * a child, since cmocka's failures end the test. */
static void test_checkers_reject(void **state) {
        static const char * const bad_prometheus[] = {
                "x 1\n",                                            /* no HELP/TYPE */
                "# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n",         /* unterminated value */
                "# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n",     /* bad escape */
                "# HELP x h\n# TYPE x gauge\nx one\n",              /* not a number */
                "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",           /* duplicate series */
                "# HELP x h\n# TYPE x gauge\ny 1\n",                /* sample outside its family */
                "# HELP x h\n# TYPE x gauge\nx 1",                  /* no final newline */
        };
        static const char * const bad_nfd[] = {
                "iommu.mode=passthrough\n",                                /* no namespace */
                "feature.node.kubernetes.io/iommu.mode=pass through\n",    /* space */
                "feature.node.kubernetes.io/iommu.mode=-x\n",              /* starts with '-' */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad_prometheus) + ELEMENTSOF(bad_nfd); i++) {
                pid_t pid = fork();
                int status;

                assert_true(pid >= 0);
                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY);
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                        if (i < ELEMENTSOF(bad_prometheus))
                                check_prometheus_format(bad_prometheus[i]);
                        else
                                check_nfd_format(bad_nfd[i - ELEMENTSOF(bad_prometheus)]);
                        _exit(0); /* accepted: wrong */
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                        fail_msg("checker accepted bad input #%zu", i);
        }
}

/* promtool (Debian's prometheus package) is the reference parser and linter. */
static void test_promtool(void **state) {
        const char *promtool = getenv("PROMTOOL");
        NodeState states[] = { passthrough_node(), drifted_node() };

        if (isempty(promtool))
                fail_msg("PROMTOOL is not set: install Debian's 'prometheus' package (.ci/packages.txt) and re-run meson setup");

        for (size_t i = 0; i < ELEMENTSOF(states); i++) {
                _cleanup_free_ char *path = NULL, *cmd = NULL, *out = NULL;
                int status;

                assert_true(asprintf(&path, "%s/promtool-%zu.prom", root, i) > 0);
                assert_int_equal(publish_prometheus(test_root("/"), path, &states[i]), 0);
                assert_true(asprintf(&cmd, "'%s' check metrics < '%s' > '%s.out' 2>&1", promtool, path, path) > 0);
                status = system(cmd);
                free(cmd);
                assert_true(asprintf(&cmd, "%s.out", path) > 0);
                assert_int_equal(read_full_file(cmd, 65536, &out, NULL), 0);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !isempty(out))
                        fail_msg("promtool check metrics failed (status %d): %s", status, out);
        }
}

static void test_publish_files(void **state) {
        NodeState s = passthrough_node();
        _cleanup_free_ char *nfd = NULL, *prom = NULL, *want_nfd = NULL, *want_prom = NULL, *sub = NULL;
        _cleanup_free_ char *nfd_dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        struct stat st;
        unsigned n = 0;

        assert_true(asprintf(&sub, "%s/publish", root) > 0);
        assert_int_equal(publish_nfd(test_root(sub), NULL, &s), 0);
        assert_int_equal(publish_prometheus(test_root(sub), "/srv/metrics/iommu.prom", &s), 0);

        assert_int_equal(read_root_file(test_root(sub), NFD_FEATURES_FILE_DEFAULT, 65536, &nfd, NULL), 0);
        assert_int_equal(read_root_file(test_root(sub), "/srv/metrics/iommu.prom", 65536, &prom, NULL), 0);
        assert_int_equal(publish_nfd_render(&s, &want_nfd), 0);
        assert_int_equal(publish_prometheus_render(&s, &want_prom), 0);
        assert_string_equal(nfd, want_nfd);
        assert_string_equal(prom, want_prom);
        check_nfd_format(nfd);
        check_prometheus_format(prom);

        /* Readable by the nfd-worker and node_exporter users, and alone in its directory. */
        nfd_dir = test_root_path(sub, "/etc/kubernetes/node-feature-discovery/features.d");
        d = opendir(nfd_dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                assert_string_equal(de->d_name, "iommu");
                n++;
        }
        assert_int_equal(n, 1);
        free(nfd);
        nfd = test_root_path(sub, NFD_FEATURES_FILE_DEFAULT);
        assert_int_equal(stat(nfd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_publish_node_state(void **state) {
        NodeState s = drifted_node();
        _cleanup_free_ char *sub = NULL, *text = NULL;
        Config c = {
                .publish_nfd = false,
                .publish_prometheus = true,
        };

        assert_true(asprintf(&sub, "%s/config", root) > 0);
        assert_int_equal(publish_node_state(test_root(sub), &c, &s), 0);
        assert_false(root_exists(test_root(sub), NFD_FEATURES_FILE_DEFAULT));
        assert_int_equal(read_root_file(test_root(sub), PROMETHEUS_FILE_DEFAULT, 65536, &text, NULL), 0);
        assert_non_null(strstr(text, "\niommu_verified 0\n"));

        /* A relative path from iommu.conf is refused, and nothing is written. */
        c.publish_nfd = true;
        c.nfd_path = (char *) "features.d/iommu";
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        assert_int_equal(publish_node_state(test_root(sub), &c, &s), -EINVAL);
        log_set_max_level(LOG_LEVEL_INFO);
        assert_false(root_exists(test_root(sub), "features.d/iommu"));
        assert_false(root_exists(test_root(sub), NFD_FEATURES_FILE_DEFAULT));
}

/* Readers polling the directory while verify rewrites the files must only ever see whole files:
 * one of the complete versions, never a prefix, and never a temporary file under the real name. */
static void test_never_half_written(void **state) {
        NodeState a = passthrough_node(), b = drifted_node();
        _cleanup_free_ char *sub = NULL, *dir = NULL, *ra = NULL, *rb = NULL;
        unsigned reads = 0, seen_a = 0, seen_b = 0;
        bool done = false;
        pid_t pid;
        int status;

        /* Make the two versions differ in length so a torn read cannot match either. */
        a.profile = "gpu-sriov-with-a-much-longer-profile-name-for-this-test";
        assert_true(asprintf(&sub, "%s/race", root) > 0);
        assert_int_equal(publish_nfd_render(&a, &ra), 0);
        assert_int_equal(publish_nfd_render(&b, &rb), 0);
        assert_int_equal(publish_nfd(test_root(sub), NULL, &a), 0);
        dir = test_root_path(sub, "/etc/kubernetes/node-feature-discovery/features.d");

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (unsigned i = 0; i < 100; i++)
                        if (publish_nfd(test_root(sub), NULL, i % 2 ? &a : &b) < 0)
                                _exit(1);
                _exit(0);
        }

        while (!done) {
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;

                done = waitpid(pid, &status, WNOHANG) == pid;
                d = opendir(dir);
                assert_non_null(d);
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL, *text = NULL;

                        if (de->d_name[0] == '.') /* what NFD skips: ".", ".." and temporary files */
                                continue;
                        assert_string_equal(de->d_name, "iommu");
                        assert_true(asprintf(&p, "%s/%s", dir, de->d_name) > 0);
                        assert_int_equal(read_full_file(p, 65536, &text, NULL), 0);
                        if (streq(text, ra))
                                seen_a++;
                        else if (streq(text, rb))
                                seen_b++;
                        else
                                fail_msg("read a partial file after %u reads: '%s'", reads, text);
                        reads++;
                }
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(reads > 0);
        assert_true(seen_a + seen_b == reads);
        print_message("%u reads while rewriting 100 times: %u old, %u new version\n", reads, seen_a, seen_b);

        /* When the writer is done, only the final file remains. */
        {
                _cleanup_(closedirp) DIR *d = opendir(dir);
                struct dirent *de;
                unsigned n = 0;

                assert_non_null(d);
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                assert_string_equal(de->d_name, "iommu");
                                n++;
                        }
                assert_int_equal(n, 1);
        }
}

/* Issue 22.2: only the boot check of the configured profile publishes, or a run asked to, for it. */
static void test_publish_decide(void **state) {
        Config c = { .profile = (char *) "strict" };

        assert_int_equal(publish_decide(&c, "strict", true, false), PUBLISH_SKIP_DISABLED);
        c.publish_prometheus = true;
        assert_int_equal(publish_decide(&c, "strict", true, false), PUBLISH_YES);
        assert_int_equal(publish_decide(&c, "strict", false, false), PUBLISH_SKIP_MANUAL);
        assert_int_equal(publish_decide(&c, "strict", false, true), PUBLISH_YES);
        assert_int_equal(publish_decide(&c, "gpu-sriov", false, false), PUBLISH_SKIP_MANUAL);
        assert_int_equal(publish_decide(&c, "gpu-sriov", true, false), PUBLISH_SKIP_OTHER_PROFILE);
        assert_int_equal(publish_decide(&c, "gpu-sriov", false, true), PUBLISH_SKIP_OTHER_PROFILE);
        c.profile = NULL;
        assert_int_equal(publish_decide(&c, "gpu-sriov", true, false), PUBLISH_SKIP_OTHER_PROFILE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nfd_render),
                cmocka_unit_test(test_nfd_bad_values_left_out),
                cmocka_unit_test(test_prometheus_render),
                cmocka_unit_test(test_prometheus_escaping),
                cmocka_unit_test(test_checkers_reject),
                cmocka_unit_test(test_promtool),
                cmocka_unit_test(test_publish_files),
                cmocka_unit_test(test_publish_node_state),
                cmocka_unit_test(test_never_half_written),
                cmocka_unit_test(test_publish_decide),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
