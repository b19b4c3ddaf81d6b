"""The self-contained demo: a scenario of real photos walked past three cameras."""
