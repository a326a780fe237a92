"""xltools: spreadsheet-native automation for improvement action plans.

The library does the work; the ``xltools`` command line is thin glue around it.
Heavy libraries (pandas, pandera, openpyxl) are imported only by the functions
that need them, so ``import xltools`` and ``xltools --help`` stay instant.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "write_plan": ("xltools.template", "write_plan"),
    "read_plan": ("xltools.read", "read_plan"),
    "colour_workbook": ("xltools.colour", "colour_workbook"),
    "validate": ("xltools.validate", "validate"),
    "consolidate": ("xltools.consolidate", "consolidate"),
    # The weekly job's steps, as the commands and ``weekly`` run them.
    "consolidate_to": ("xltools.rollup", "consolidate_to"),
    "summarise_to": ("xltools.summary", "summarise_to"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        return getattr(importlib.import_module(module_name), attribute)
    raise AttributeError(f"module 'xltools' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
