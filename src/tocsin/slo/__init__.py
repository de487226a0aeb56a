"""SLOs: the pure math (`math`), windows (`windows`) and running sums (`series`).

Nothing is re-exported here so that importing a sibling module (an importer, the
evaluator) does not pay for numpy; import from the submodules directly.
"""
