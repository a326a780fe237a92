"""The built-in rule packs (YAML data), installed as the package xltools.rulepacks."""
