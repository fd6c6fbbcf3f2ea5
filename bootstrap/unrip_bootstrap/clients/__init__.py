"""Clients of the outside world, each behind a small interface the steps use: Pulumi stacks
(Automation API), Kubernetes (kubectl), the node (OpenSSH), Forgejo (REST, httpx), git and the
delivery's deploy script. Command-line tools run through `process.CommandRunner`."""
