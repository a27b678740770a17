"""The ``affine-inspector`` command line: one module per command, one exit-code table, one error contract.

May import every layer; nothing imports it.
"""
