"""Hydra's basic sweeper without its second pass over every job's config (``hydra/sweeper=alignsim``).

Hydra's ``BasicSweeper`` composes the config of every job, one after another in the main
process, to check the batch before launching it (~0.1 s per job). ``alignsim run`` and
``alignsim sweep`` have already checked every swept value before Hydra starts
(``alignsim.sweep.preflight``), so this sweeper skips that pass. And a failed job does not
abort the sweep: the other jobs run, the aggregation runs, and the command exits non-zero.
"""
