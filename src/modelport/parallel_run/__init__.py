"""Batch inference: v1's ParallelRunStep contract (reference spec 5.1) on local worker processes.

``config`` (ParallelRunConfig, ParallelRunStep), ``plan`` (inputs -> mini-batches), ``worker``
(one process: init() once, run() per mini-batch), ``local`` (the pool, timeouts, retries, error
threshold), ``journal`` (crash-safe progress for --resume), ``driver`` (one run end to end),
``record`` (the workspace Run), ``pipeline`` (v1 driver code: Pipeline, Experiment.submit).

Not ``modelport.batch``: that name is the public dynamic-batching decorator, and importing a
subpackage of that name would replace the decorator on the ``modelport`` module.
"""

from modelport.parallel_run.config import ParallelRunConfig, ParallelRunStep

__all__ = ["ParallelRunConfig", "ParallelRunStep"]
