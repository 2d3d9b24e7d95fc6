"""`python -m leaktest ARGS`: `python -m unittest ARGS`, every test leak-checked."""

from .runner import main

__unittest = True

if __name__ == "__main__":
    main()
