"""Zero-copy in and out, and no leak: arrays cross the binding without copies where the memory allows."""

import gc
import tracemalloc

import numpy as np

import support
import visbone

MiB = 1 << 20


def test_float32_input_is_read_in_place_and_outputs_are_not_copied():
    stem = visbone.load_backbone(support.MODELS / "tiny-preact", out_features=["stem"])
    pixels = np.random.default_rng(0).standard_normal((16, 3, 224, 224), dtype=np.float32)  # 9.2 MiB
    stem(pixels)  # first-call allocations (primitives, pools) are not the binding's
    # numpy reports its data allocations to tracemalloc; the C++ buffers are not numpy's.
    tracemalloc.start()
    out = stem(pixels)["stem"]  # (16, 16, 56, 56): 3.1 MiB owned by C++
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.nbytes > 3 * MiB
    assert peak < MiB, f"{peak} bytes traced: the input or the output was copied"
    assert type(out.base).__name__ == "PyCapsule" and not out.flags.owndata

    # float64 input is converted once: one float32 copy, traced by numpy, then freed.
    wide = pixels.astype(np.float64)
    tracemalloc.start()
    stem(wide)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert pixels.nbytes <= peak < 2 * pixels.nbytes, f"{peak} bytes traced for a {pixels.nbytes}-byte conversion"


def test_input_rss_stays_below_a_second_copy():
    stem = visbone.load_backbone(support.MODELS / "tiny-preact", out_features=["stem"])
    pixels = np.ones((64, 3, 224, 224), np.float32)  # 37 MiB, resident
    stem(pixels)  # the pass's own buffers (kept in its pool) are there from now on
    gc.collect()
    before = support.rss_bytes()
    out = stem(pixels)["stem"]  # 12 MiB of output
    grown = support.rss_bytes() - before
    assert grown < out.nbytes + pixels.nbytes // 2, f"RSS grew {grown / MiB:.1f} MiB"


def test_no_leak_over_1000_calls(tiny):
    pixels = np.random.default_rng(1).standard_normal((1, 3, 32, 32), dtype=np.float32)
    wide = pixels.astype(np.float64)
    processor = visbone.ImageProcessor()
    image = np.zeros((40, 60, 3), np.uint8)

    def calls(n):  # n forward passes (every other one converting float64), n preprocessed images
        for i in range(n):
            out = tiny(wide if i % 2 else pixels)
            assert out["stage4"].shape == (1, 256, 1, 1)
            del out
            processor(image)
        gc.collect()

    calls(100)  # warm up: pools, primitive caches, allocator arenas
    before = support.rss_bytes()
    calls(1000)
    grown = support.rss_bytes() - before
    # One call's arrays are about 0.7 MiB (outputs, conversion, pixel values); a leak of any of them would add
    # hundreds of MiB.
    assert grown < 8 * MiB, f"RSS grew {grown / MiB:.1f} MiB over 1,000 calls"
