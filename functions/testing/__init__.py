"""Routine tests: ``*.test.json`` files run on the local runtime (``routines test``, pytest)."""

from functions.testing.cases import CaseResult, check, find_test_files, run_case, run_file
from functions.testing.spec import Case, LoadedTests, TestFile, TestFileError, load_tests

__all__ = [
    "Case",
    "CaseResult",
    "LoadedTests",
    "TestFile",
    "TestFileError",
    "check",
    "find_test_files",
    "load_tests",
    "run_case",
    "run_file",
]
