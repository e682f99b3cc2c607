/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot-bls.h"
#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "boot.h"
#include "bootspec.h"
#include "log.h"
#include "strv.h"

static const char * const backend_names[_BOOT_BACKEND_MAX] = {
        [BOOT_BACKEND_BLS] = "bls",
        [BOOT_BACKEND_KERNEL_CMDLINE] = "kernel-cmdline",
        [BOOT_BACKEND_GRUB] = "grub",
};

const char *boot_backend_to_string(BootBackend b) {
        return STRING_TABLE_TO_STRING(backend_names, b);
}

BootBackend boot_backend_from_string(const char *s) {
        return string_table_lookup(backend_names, ELEMENTSOF(backend_names), s);
}

int boot_detect_backends(const Root *root, bool ret[_BOOT_BACKEND_MAX]) {
        ret[BOOT_BACKEND_BLS] = boot_bls_detect(root);
        ret[BOOT_BACKEND_KERNEL_CMDLINE] = boot_kernel_cmdline_detect(root);
        ret[BOOT_BACKEND_GRUB] = boot_grub_detect(root);
        return ret[0] + ret[1] + ret[2];
}

int boot_backends_from_list(char * const *names, bool ret[_BOOT_BACKEND_MAX]) {
        bool b[_BOOT_BACKEND_MAX] = {};

        STRV_FOREACH(n, names) {
                BootBackend x = boot_backend_from_string(*n);
                if (x < 0)
                        return log_error_errno(-EINVAL, "Unknown boot backend '%s'; valid: bls, kernel-cmdline, grub.", *n);
                b[x] = true;
        }
        memcpy(ret, b, sizeof(b));
        return 0;
}

/* ostree and bootc regenerate boot/loader.N from the deployment's kernel arguments: an entry
 * rewritten here is lost at the next deployment (or breaks its checksum). Their own tools own
 * the command line. */
static int refuse_ostree(const BootRequest *req, const BootSpec *spec) {
        const BootSpec b = *spec; /* a shallow copy: the lines below read b. */
        _cleanup_strv_free_ char **appends = NULL;
        _cleanup_free_ char *args = NULL;

        if (!b.ostree)
                return 0;
        for (size_t i = 0; req->wanted && i < req->wanted->n_tokens; i++) {
                char *a;
                if (asprintf(&a, "--append=%s", req->wanted->tokens[i].text) < 0 || strv_consume(&appends, a) < 0)
                        return log_oom();
        }
        args = appends ? strv_join(appends, " ") : strdup("");
        if (!args)
                return log_oom();
        return log_error_errno(-EPERM, "The boot entries under %s are managed by ostree/bootc (%s): a change written here "
                               "is replaced at the next deployment. Set the kernel arguments with 'rpm-ostree kargs %s' "
                               "or, in a bootc image, a /usr/lib/bootc/kargs.d/ file ('iommuctl export bootc' writes one). "
                               "Nothing was changed.", req->root->path, b.ostree_why, args);
}

int boot_plan(const BootRequest *req, ChangeSet *cs) {
        _cleanup_(bootspec_done) BootSpec spec = {};
        _cleanup_free_ char *default_options = NULL;
        int r;

        /* Read once: the ostree check and the default entry both look at it (each entry file
         * was read and parsed once per look, a third of apply's instructions). */
        r = bootspec_load(req->root, &spec);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", req->root->path);
        r = refuse_ostree(req, &spec);
        if (r < 0)
                return r;

        if (req->backends[BOOT_BACKEND_BLS]) {
                r = boot_bls_plan(req->root, &spec, req->entries, req->owned, req->wanted, req->judge, cs, &default_options);
                if (r < 0)
                        return r;
        }
        if (req->backends[BOOT_BACKEND_KERNEL_CMDLINE]) {
                r = boot_kernel_cmdline_plan(req->root, req->owned, req->wanted, req->judge, default_options, cs);
                if (r < 0)
                        return r;
        }
        if (req->backends[BOOT_BACKEND_GRUB]) {
                r = boot_grub_plan(req->root, req->owned, req->wanted, req->judge, req->profile, cs);
                if (r < 0)
                        return r;
        }
        return 0;
}
