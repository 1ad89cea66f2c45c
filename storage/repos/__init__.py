"""carebot's SQL, one repository per concern, all reached from a unit of work (unit.py).

Repositories run their statements through an Executor (sql.py), so that a backend only
implements the executor: storage/sqlite.py today.
"""
