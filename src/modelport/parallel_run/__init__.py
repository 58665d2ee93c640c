"""Batch inference: v1's ParallelRunStep contract (reference spec 5.1) on local worker processes.

``config`` (ParallelRunConfig, ParallelRunStep), ``dataset`` (v1 Datasets over local paths),
``plan`` (inputs -> mini-batches), ``environment`` (the script's environment, built like a
service's), ``process`` + ``worker`` (one child process of that interpreter: init() once, run()
per mini-batch), ``local`` / ``ray_engine`` (the engines: timeouts, retries, error threshold),
``journal`` (crash-safe progress for --resume), ``driver`` (one run end to end), ``models`` +
``model_fetch`` (registered models for the script), ``record`` (the workspace Run), ``pipeline``
(v1 driver code: Pipeline, Experiment.submit). docs/batch.md "How it is built" has the map.

Not ``modelport.batch``: that name is the public dynamic-batching decorator, and importing a
subpackage of that name would replace the decorator on the ``modelport`` module.
"""

from modelport.parallel_run.config import ParallelRunConfig, ParallelRunStep

__all__ = ["ParallelRunConfig", "ParallelRunStep"]
