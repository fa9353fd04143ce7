#!/usr/bin/env python3
"""Runs figures.sql with DuckDB on a directory of raw files (`tenure sim` output) and writes
every report's rows to OUT (default: stdout), like the tenure CLI's reports.

    bench/duckdb/figures.py SIM_DIR [OUT]

DuckDB is installed on first use into bench/.venv (gitignored) from PyPI; the script then runs
itself with that environment's Python.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, "..", ".venv")
PYTHON = os.path.join(VENV, "bin", "python")


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "duckdb"], check=True)
        return
    if not os.path.exists(PYTHON):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "duckdb"], check=True)
    os.execv(PYTHON, [PYTHON, os.path.abspath(__file__), *sys.argv[1:]])


def statements(sql):
    """The script's statements, each without its comment lines."""
    for chunk in sql.split(";\n"):
        body = "\n".join(l for l in chunk.splitlines() if not l.lstrip().startswith("--")).strip()
        if body:
            yield body


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: figures.py SIM_DIR [OUT]")
    ensure_duckdb()
    import duckdb

    sim = os.path.abspath(sys.argv[1])
    out = open(sys.argv[2], "w") if len(sys.argv) == 3 else sys.stdout
    with open(os.path.join(HERE, "figures.sql")) as f:
        sql = f.read()
    os.chdir(sim)
    con = duckdb.connect()
    started = time.monotonic()
    for statement in statements(sql):
        if not statement.upper().startswith(("SELECT", "WITH")):
            con.execute(statement)
            continue
        relation = con.sql(statement)
        out.write(" | ".join(relation.columns) + "\n")
        for row in relation.fetchall():
            out.write(" | ".join("" if v is None else str(v) for v in row) + "\n")
        out.write("\n")
    out.flush()
    print(f"duckdb {duckdb.__version__}: {time.monotonic() - started:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
