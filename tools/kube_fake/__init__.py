"""kube-fake: a stateful fake of the Kubernetes API server for tests (see README.md).

``scripts/kube-fake`` runs it; ``kube_fake.testing.run_kube_fake`` starts it from tests.
"""

__version__ = "0.1.0"
