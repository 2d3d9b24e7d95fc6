"""Sample suites that tests/test_runner.py and tests/test_pytest.py run in subprocesses.

Their names do not match ``test*.py``: ``python -m unittest discover -s tests``
does not collect them, and the leaky ones leak on purpose.
"""
