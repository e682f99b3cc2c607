/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "terminal.h"

/* systemd's order: SYSTEMD_COLORS when it parses, then NO_COLOR, then a terminal that is not dumb. */
static void test_colors_decide(void **state) {
        (void) state;
        assert_true(colors_decide(NULL, NULL, "xterm", true));
        assert_false(colors_decide(NULL, NULL, "xterm", false));
        assert_false(colors_decide(NULL, NULL, "dumb", true));
        assert_false(colors_decide(NULL, NULL, NULL, true));
        assert_false(colors_decide(NULL, "", "xterm", true));   /* NO_COLOR set, even empty */
        assert_false(colors_decide(NULL, "1", "xterm", true));
        assert_true(colors_decide("1", NULL, NULL, false));     /* forced on: a pipe, no TERM */
        assert_true(colors_decide("yes", "1", "dumb", false));  /* SYSTEMD_COLORS wins over NO_COLOR */
        assert_true(colors_decide("256", NULL, NULL, false));
        assert_true(colors_decide("24bit", NULL, NULL, false));
        assert_false(colors_decide("0", NULL, "xterm", true));
        assert_false(colors_decide("no", NULL, "xterm", true));
        assert_true(colors_decide("bogus", NULL, "xterm", true)); /* unparsable: the other rules decide */
        assert_false(colors_decide("bogus", "1", "xterm", true));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_colors_decide),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
