"""Batch inference: v1's ParallelRunStep contract (reference spec 5.1) on local worker processes.

``config`` (ParallelRunConfig, ParallelRunStep), ``plan`` (inputs -> mini-batches), ``worker``
(one process: init() once, run() per mini-batch), ``local`` (the pool, timeouts, retries, error
threshold), ``journal`` (crash-safe progress for --resume), ``driver`` (one run end to end).
"""

from modelport.batch.config import ParallelRunConfig, ParallelRunStep

__all__ = ["ParallelRunConfig", "ParallelRunStep"]
