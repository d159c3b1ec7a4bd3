"""Four Python threads sharing one backbone get what sequential calls get (the GIL is released during the
pass, so the threads really run in the C++ library at once, and BiT's passes overlap)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import support
import visbone


def test_four_threads_equal_sequential(tiny):
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((2, 3, 64, 64), dtype=np.float32) for _ in range(12)]
    sequential = [tiny(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(tiny, batches))
    for s, t in zip(sequential, threaded):
        assert list(s) == list(t)
        for k in s:
            np.testing.assert_array_equal(s[k], t[k], err_msg=k)


def test_overlapping_passes_equal_sequential():
    # threads=2: up to two passes at once, a pass started beside another with one thread; bit-50's results do
    # not depend on the thread count, so every call gives what a sequential one gives, bit for bit.
    backbone = visbone.load_backbone(support.MODELS / "bit-50-random-fp16", out_indices=[1, 3, 4], threads=2)
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((1 + i % 2, 3, 64, 96), dtype=np.float32) for i in range(8)]
    sequential = [backbone(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(backbone, batches * 2))
    for i, t in enumerate(threaded):
        s = sequential[i % len(batches)]
        assert list(s) == list(t)
        for k in s:
            np.testing.assert_array_equal(s[k], t[k], err_msg=f"call {i} {k}")


def test_the_gil_is_released_during_a_pass():
    # While one thread is inside a pass, another keeps running Python code at about the rate it runs while
    # this thread sleeps. Holding the GIL, the pass would let it run one switch interval (5 ms) at most.
    backbone = visbone.load_backbone(support.MODELS / "bit-50-random-fp16", threads=1)
    pixels = np.zeros((2, 3, 224, 224), np.float32)
    backbone(pixels)
    done = threading.Event()
    ticks = 0

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        start, t0 = ticks, time.perf_counter()
        time.sleep(0.2)
        sleeping_rate = (ticks - start) / (time.perf_counter() - t0)
        start, t0 = ticks, time.perf_counter()
        backbone(pixels)
        pass_rate = (ticks - start) / (time.perf_counter() - t0)
    finally:
        done.set()
        counter.join()
    assert pass_rate > 0.2 * sleeping_rate, f"{pass_rate:.0f} ticks/s during the pass, {sleeping_rate:.0f} asleep"
