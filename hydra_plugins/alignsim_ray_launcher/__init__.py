"""A Hydra launcher that runs each job of a multirun as a Ray task (``hydra/launcher=ray``).

Shipped with alignsim (extra ``[ray]``). Hydra only loads launcher plugins from the
``hydra_plugins`` namespace, hence this package's place outside ``alignsim/``.
"""
