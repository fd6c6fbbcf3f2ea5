"""The workstation bootstrap: `invoke bootstrap` from filled-in secrets to a self-deploying cluster.

Steps (`unrip_bootstrap.steps`) each check the live state first and change only what has not
converged, so the same command resumes after a failure and rebuilds after a disaster. The
outside world is reached through small clients (`unrip_bootstrap.clients`): Pulumi through its
Automation API, Kubernetes through kubectl, the node through OpenSSH, Forgejo through its REST
API. Docs: docs/bootstrap.md (operator guide) and docs/disaster-recovery.md (runbook).
"""
