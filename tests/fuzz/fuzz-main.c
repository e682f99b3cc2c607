/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver for the LLVMFuzzerTestOneInput() harnesses when no libFuzzer is at hand (gcc): runs
 * every file named on the command line, then a fixed number of pseudo-random mutations of them,
 * so "meson test" exercises the parsers under ASan/UBSan on every run. Build the same harness
 * with clang -fsanitize=fuzzer for real fuzzing. */
#include <stdint.h>

#include "fileio.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <signal.h>

static uint32_t rng = 2463534242u;
static const uint8_t *current;
static size_t current_size;

/* On a crash, print the input that caused it, so it can be added to the corpus. */
static void dump_input(int sig) {
        static const char msg[] = "\nfuzz: crashing input (escaped):\n";
        if (write(2, msg, sizeof(msg) - 1) < 0)
                _exit(1);
        for (size_t i = 0; i < current_size; i++) {
                char b[8];
                int n = current[i] >= 0x20 && current[i] < 0x7f && current[i] != '\\' ?
                        snprintf(b, sizeof(b), "%c", current[i]) : snprintf(b, sizeof(b), "\\x%02x", current[i]);
                if (write(2, b, n) < 0)
                        break;
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static void run_one(const uint8_t *data, size_t size) {
        current = data;
        current_size = size;
        LLVMFuzzerTestOneInput(data, size);
}

static uint32_t xorshift(void) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        return rng;
}

static void mutate(uint8_t *buf, size_t *size, size_t max) {
        static const char interesting[] = "\"= \t\n-_[]#;$`\\,.\xa0";
        unsigned n = 1 + xorshift() % 4;

        for (unsigned i = 0; i < n; i++) {
                size_t pos = *size ? xorshift() % *size : 0;
                switch (xorshift() % 3) {
                case 0: /* replace */
                        if (*size)
                                buf[pos] = interesting[xorshift() % (sizeof(interesting) - 1)];
                        break;
                case 1: /* insert */
                        if (*size < max) {
                                memmove(buf + pos + 1, buf + pos, *size - pos);
                                buf[pos] = xorshift() % 2 ? (uint8_t) interesting[xorshift() % (sizeof(interesting) - 1)] : (uint8_t) xorshift();
                                (*size)++;
                        }
                        break;
                case 2: /* delete */
                        if (*size) {
                                memmove(buf + pos, buf + pos + 1, *size - pos - 1);
                                (*size)--;
                        }
                        break;
                }
        }
}

int main(int argc, char *argv[]) {
        unsigned rounds = 2000;
        const char *e = getenv("FUZZ_ROUNDS");

        if (e)
                rounds = atoi(e);
        signal(SIGABRT, dump_input);
        signal(SIGSEGV, dump_input);
        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *data = NULL;
                size_t size;
                uint8_t *buf;

                if (read_full_file(argv[i], 1 << 20, &data, &size) < 0) {
                        fprintf(stderr, "Failed to read %s\n", argv[i]);
                        return 1;
                }
                run_one((const uint8_t *) data, size);

                buf = malloc(size + 256);
                if (!buf)
                        return 1;
                for (unsigned r = 0; r < rounds; r++) {
                        size_t n = size;
                        memcpy(buf, data, size);
                        mutate(buf, &n, size + 256);
                        run_one(buf, n);
                }
                free(buf);
        }
        printf("%d inputs, %u mutations each: no crash\n", argc - 1, rounds);
        return 0;
}
