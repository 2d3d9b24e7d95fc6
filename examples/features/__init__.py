"""One short example per leaktest setting and function; each file teaches one thing.

Run with the other examples: ``python -m unittest discover -s examples -v``.
Examples that show a failure run the leaking test inside the example, with its
own ``unittest.TestResult``, and assert the verdict, so the examples stay green.
"""
