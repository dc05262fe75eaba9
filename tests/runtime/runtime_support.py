"""Constants shared by the runtime tests and their conftest.py.

A uniquely named module, because `from conftest import ...` picks whichever `conftest` module Python
imported first, which depends on pytest's collection order when other test folders have one too.
"""

KEY = "test-key-primary"
