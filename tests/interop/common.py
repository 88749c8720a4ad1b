"""Helpers shared by the interop checks: each script gets a folder written by the C++ test
(test_interop.cpp), checks what the real library reads there, may write files back for the
C++ side to read, and exits non-zero with a message on the first mismatch."""
import os
import sys

import numpy as np


def folder():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} <folder written by test_serialization>")
    return sys.argv[1]


def expect(d, name):
    """An expected array the C++ side saved as <folder>/expect/<name>.npy."""
    return np.load(os.path.join(d, "expect", name + ".npy"))


def check(cond, msg):
    if not cond:
        print("MISMATCH:", msg)
        sys.exit(1)


def check_array(actual, expected, what, atol=0.0):
    actual = np.asarray(actual)
    check(actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}")
    check(actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}")
    if atol == 0.0:
        check(np.array_equal(actual, expected), f"{what}: values differ\n{actual}\n!=\n{expected}")
    else:
        check(np.allclose(actual, expected, atol=atol), f"{what}: values differ beyond {atol}\n{actual}\n!=\n{expected}")
