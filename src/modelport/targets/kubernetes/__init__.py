"""The kubernetes target: service revisions as Deployments (+ HPA), Services and Secrets.

``manifests`` renders, ``status`` maps what the cluster reports to states and typed causes,
``driver`` applies and observes through lightkube (docs/kubernetes.md).
"""
