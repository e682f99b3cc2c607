/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "recommend.h"
#include "strv.h"

static void fact(RecommendFacts *f, RecommendFact which, const char *evidence) {
        assert_int_equal(strv_extend(&f->evidence[which], evidence), 0);
}

static const RecommendReason *reason(const Recommendation *rec, RecommendFact which) {
        for (size_t i = 0; i < rec->n_reasons; i++)
                if (rec->reasons[i].fact == which)
                        return &rec->reasons[i];
        return NULL;
}

static const char *decide(RecommendFacts *f, Recommendation *rec) {
        assert_int_equal(recommend_decide(f, rec), 0);
        assert_true(rec->n_reasons > 0);
        /* The first reason always names the chosen profile. */
        assert_non_null(rec->reasons[0].profile);
        assert_string_equal(rec->reasons[0].profile, rec->profile);
        return rec->profile;
}

static void test_nothing(void **state) {
        RecommendFacts f = {};
        Recommendation rec;

        assert_string_equal(decide(&f, &rec), "bare-metal");
        assert_int_equal(rec.n_reasons, 1);
        assert_int_equal(rec.reasons[0].fact, _FACT_INVALID);
        recommend_facts_done(&f);
}

static void test_gpu_node(void **state) {
        RecommendFacts f = {};
        Recommendation rec;

        fact(&f, FACT_GPU, "0000:19:00.0 10de:2330 (3D controller)");
        fact(&f, FACT_SRIOV_PF, "0000:1a:00.0 15b3:1021: sriov_totalvfs 64");
        fact(&f, FACT_IOMMU_FIRMWARE, "ACPI DMAR table (Intel VT-d)");
        assert_string_equal(decide(&f, &rec), "gpu-sriov");
        assert_non_null(reason(&rec, FACT_GPU));
        assert_non_null(reason(&rec, FACT_SRIOV_PF));
        assert_null(reason(&rec, FACT_VFIO));
        recommend_facts_done(&f);
}

static void test_each_vfio_reason(void **state) {
        const RecommendFact facts[] = { FACT_GPU, FACT_SRIOV_PF, FACT_SRIOV_VFS, FACT_VFIO, FACT_KVM };

        for (size_t i = 0; i < ELEMENTSOF(facts); i++) {
                RecommendFacts f = {};
                Recommendation rec;

                fact(&f, facts[i], "evidence");
                assert_string_equal(decide(&f, &rec), "gpu-sriov");
                assert_int_equal(rec.reasons[0].fact, facts[i]);
                recommend_facts_done(&f);
        }
}

/* The kernel disables SEV-SNP with the IOMMU off or in passthrough: strict, even with GPUs. */
static void test_sev_snp_wins(void **state) {
        RecommendFacts f = {};
        Recommendation rec;

        fact(&f, FACT_GPU, "0000:41:00.0 1002:74a1");
        fact(&f, FACT_CONFIDENTIAL, "/sys/module/kvm_amd/parameters/sev_snp");
        fact(&f, FACT_IOMMU_FIRMWARE, "ACPI IVRS table (AMD-Vi)");
        f.sev_snp = true;
        assert_string_equal(decide(&f, &rec), "strict");
        assert_int_equal(rec.reasons[0].fact, FACT_CONFIDENTIAL);
        /* The GPU is still shown, as outweighed. */
        assert_string_equal(reason(&rec, FACT_GPU)->profile, "gpu-sriov");
        recommend_facts_done(&f);
}

static void test_external_ports(void **state) {
        RecommendFacts f = {};
        Recommendation rec;

        fact(&f, FACT_EXTERNAL_PORTS, "/sys/bus/thunderbolt/devices: 0-0 domain0");
        assert_string_equal(decide(&f, &rec), "strict");
        /* No IOMMU in the firmware yet: the reasons say to enable it first. */
        assert_non_null(reason(&rec, FACT_IOMMU_FIRMWARE));
        recommend_facts_done(&f);

        /* GPUs and external ports: the GPUs decide, the ports are shown. */
        fact(&f, FACT_EXTERNAL_PORTS, "0000:00:07.0: external_facing 1");
        fact(&f, FACT_GPU, "0000:01:00.0 10de:2684");
        assert_string_equal(decide(&f, &rec), "gpu-sriov");
        assert_string_equal(reason(&rec, FACT_EXTERNAL_PORTS)->profile, "strict");
        recommend_facts_done(&f);
}

static void test_virtual_machines(void **state) {
        RecommendFacts f = {};
        Recommendation rec;

        /* A cloud GPU VM without a virtual IOMMU: nothing that needs groups can be kept. */
        fact(&f, FACT_VIRTUALIZATION, "kvm (DMI product_name)");
        fact(&f, FACT_GPU, "0000:00:1e.0 10de:2330");
        assert_string_equal(decide(&f, &rec), "bare-metal");
        assert_int_equal(rec.reasons[0].fact, FACT_VIRTUALIZATION);
        recommend_facts_done(&f);

        /* With a virtual IOMMU, VFIO inside the VM works. */
        fact(&f, FACT_VIRTUALIZATION, "qemu (DMI sys_vendor)");
        fact(&f, FACT_IOMMU_FIRMWARE, "ACPI DMAR table (Intel VT-d)");
        fact(&f, FACT_VFIO, "0000:00:03.0 8086:10d3: driver vfio-pci");
        assert_string_equal(decide(&f, &rec), "gpu-sriov");
        recommend_facts_done(&f);
}

static void test_fact_names(void **state) {
        for (RecommendFact i = 0; i < _FACT_MAX; i++)
                assert_non_null(recommend_fact_to_string(i));
        assert_null(recommend_fact_to_string(_FACT_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nothing),
                cmocka_unit_test(test_gpu_node),
                cmocka_unit_test(test_each_vfio_reason),
                cmocka_unit_test(test_sev_snp_wins),
                cmocka_unit_test(test_external_ports),
                cmocka_unit_test(test_virtual_machines),
                cmocka_unit_test(test_fact_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
