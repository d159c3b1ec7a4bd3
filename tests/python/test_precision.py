"""load_backbone(precision=...) with the C++ semantics: 'f32' exact, 'bf16' (AVX512-BF16 or AMX; an error naming
the instruction set without it) within the bounds the C++ bf16 tests use (tests/bit/bf16_test.cpp: pooled cosine
no lower than the PyTorch emulation's minus 0.0005, logits error at most 1.25x its), 'auto' bf16 only with AMX."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import support
import visbone

BIT50 = support.MODELS / "bit-50-random-fp16"


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def has_bf16():
    # oneDNN's own check also honours ONEDNN_MAX_CPU_ISA; the suite runs without it.
    return "ONEDNN_MAX_CPU_ISA" not in os.environ and ({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def error_over_std(ours, ref):
    ref = ref.astype(np.float64)
    return float(np.max(np.abs(ours.astype(np.float64) - ref)) / np.std(ref, ddof=1))


@pytest.mark.skipif(not has_bf16(), reason="this CPU has no AVX512-BF16")
def test_bf16_within_the_emulations_cost_of_f32():
    emu = json.loads((support.DATA / "bf16_emulation.json").read_text())["bit-50-random-fp16"]
    pixels = support.read_safetensors(BIT50 / "reference.safetensors")["chelsea.pixel_values"]
    exact = visbone.load_backbone(BIT50, precision="f32")(pixels)
    bf16 = visbone.load_backbone(BIT50, precision="bf16")(pixels)
    cos, err = cosine(bf16["pooled"], exact["pooled"]), error_over_std(bf16["logits"], exact["logits"])
    assert cos >= emu["min_pooled_cosine"] - 0.0005, cos
    assert err <= 1.25 * emu["logits_error_over_std"], err
    assert np.argmax(bf16["logits"][0]) == np.argmax(exact["logits"][0])
    assert cos < 1.0  # bf16 really ran: fp32 would give the same bits


def test_auto_is_f32_without_amx():
    if "amx_bf16" in cpu_flags():
        pytest.skip("this CPU has AMX: auto is bf16")
    pixels = np.random.default_rng(4).standard_normal((1, 3, 32, 32), np.float32)
    model = support.MODELS / "tiny-preact"
    auto = visbone.load_backbone(model, precision="auto")(pixels)
    exact = visbone.load_backbone(model, precision="f32")(pixels)
    for k in exact:
        np.testing.assert_array_equal(auto[k], exact[k], err_msg=k)


def test_bf16_without_the_instruction_set_names_it():
    # oneDNN capped below AVX512-BF16 (as ctest's BitParityBf16.WithoutAvx512Bf16 does for C++): bf16 is
    # refused with visbone.ConfigError naming the instruction set, auto falls back to f32.
    code = (
        "import sys, visbone\n"
        f"model = {str(support.MODELS / 'tiny-preact')!r}\n"
        "assert visbone.load_backbone(model, precision='auto').stage_names[0] == 'stem'\n"
        "try:\n"
        "    visbone.load_backbone(model, precision='bf16')\n"
        "except visbone.ConfigError as e:\n"
        "    print(e)\n"
        "    sys.exit(0)\n"
        "sys.exit('no error')\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"})
    assert p.returncode == 0, p.stderr
    assert "AVX512-BF16 instruction set (avx512_bf16)" in p.stdout


def test_algorithm_direct_and_auto_agree_and_a_bad_one_is_refused():
    """algorithm= as the C++ option: every choice within fp32's budget of the others on bit-50 (they differ
    only in how the 3x3 convolutions sum), and an unknown name a ValueError listing the choices."""
    ref = support.read_safetensors(BIT50 / "reference.safetensors")
    pixels = ref["chelsea.pixel_values"]
    pooled = {a: visbone.load_backbone(BIT50, algorithm=a)(pixels)["pooled"] for a in ("auto", "direct", "winograd")}
    expected = ref["chelsea.pooler_output"].reshape(pooled["auto"].shape)
    for a, p in pooled.items():
        assert np.isfinite(p).all(), a
        assert np.max(np.abs(p - expected)) <= 1e-4 * np.max(np.abs(expected)), a
    # auto is Winograd wherever oneDNN has it, as forced winograd is (both columns or direct elsewhere): the same bits.
    assert np.array_equal(pooled["auto"], pooled["winograd"])
    with pytest.raises(ValueError, match="algorithm 'fft' is not supported; supported: 'auto', 'direct', 'winograd'"):
        visbone.load_backbone(BIT50, algorithm="fft")
