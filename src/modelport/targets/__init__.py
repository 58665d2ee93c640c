"""Target drivers: the interface the reconciler uses (base) and its implementations (local/)."""

from __future__ import annotations

from modelport.targets.base import (
    CrashedAtStart,
    CrashLoop,
    EnforcedLimits,
    FailureCause,
    ImportFailed,
    InitFailed,
    LivenessProbe,
    ObservedReplica,
    ObservedRevision,
    ObservedService,
    PortInUse,
    ReplicaSetSpec,
    TargetDriver,
    TlsConfigurationFailed,
    Unschedulable,
)

__all__ = [
    "CrashLoop",
    "CrashedAtStart",
    "EnforcedLimits",
    "FailureCause",
    "ImportFailed",
    "InitFailed",
    "LivenessProbe",
    "ObservedReplica",
    "ObservedRevision",
    "ObservedService",
    "PortInUse",
    "ReplicaSetSpec",
    "TargetDriver",
    "TlsConfigurationFailed",
    "Unschedulable",
]
