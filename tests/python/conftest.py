# The suites import their helpers from support.py beside them (pytest puts this folder on sys.path).
import pytest

import support


@pytest.fixture(scope="session")
def tiny():
    """The tiny preactivation fixture, all five stages selected; one OpenMP thread per pass, which is fastest
    for its small inputs."""
    import visbone

    return visbone.load_backbone(support.MODELS / "tiny-preact", out_indices=[0, 1, 2, 3, 4], threads=1)
