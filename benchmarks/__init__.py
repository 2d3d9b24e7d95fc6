"""leaktest's benchmarks and stress run (standard library only).

``python -m benchmarks`` measures every figure and prints a table;
``python -m benchmarks.stress`` runs the test suites again and again on a busy machine.
"""
