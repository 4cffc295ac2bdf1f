import headwater


def test_version():
    assert headwater.__version__
