"""The outside world of the bootstrap, in memory: Hetzner + Pulumi, the node, the cluster and
Forgejo, with failures that can be injected at any point.

The doubles keep the real clients' interfaces: `FakeStack` is a `StackDriver`, `FakeSsh` an
`Ssh`, `FakeKube` a `Kube`, `FakeGit` a `Git`, `FakeDeployer` a `Deployer`; Forgejo is a fake
*server* behind httpx's MockTransport, so the real `ForgejoClient` runs against it. Every
change the bootstrap makes to the world is appended to `World.mutations`, so a test can prove
that a run (or a plan) changed nothing.
"""

from tests.bootstrap.world.cluster import FakeKube as FakeKube
from tests.bootstrap.world.forgejo import FakeForgejo as FakeForgejo
from tests.bootstrap.world.node import FakeSsh as FakeSsh
from tests.bootstrap.world.pulumi import FakeStack as FakeStack
from tests.bootstrap.world.pulumi import hetzner_outputs as hetzner_outputs
from tests.bootstrap.world.pulumi import node_kubeconfig as node_kubeconfig
from tests.bootstrap.world.state import ADMIN as ADMIN
from tests.bootstrap.world.state import ADMIN_PASSWORD as ADMIN_PASSWORD
from tests.bootstrap.world.state import AGENT_TOKEN as AGENT_TOKEN
from tests.bootstrap.world.state import APPS as APPS
from tests.bootstrap.world.state import CLIENT_KEY as CLIENT_KEY
from tests.bootstrap.world.state import ENDPOINT as ENDPOINT
from tests.bootstrap.world.state import HOST_KEY_LINE as HOST_KEY_LINE
from tests.bootstrap.world.state import IMAGE_PREFIX as IMAGE_PREFIX
from tests.bootstrap.world.state import IPV4 as IPV4
from tests.bootstrap.world.state import K3S_TOKEN as K3S_TOKEN
from tests.bootstrap.world.state import PLATFORM_KEYS as PLATFORM_KEYS
from tests.bootstrap.world.state import REGISTRY_TOKEN as REGISTRY_TOKEN
from tests.bootstrap.world.state import WORLD_SECRETS as WORLD_SECRETS
from tests.bootstrap.world.state import InjectedFailureError as InjectedFailureError
from tests.bootstrap.world.state import Run as Run
from tests.bootstrap.world.state import Server as Server
from tests.bootstrap.world.state import World as World
from tests.bootstrap.world.state import pulumi_error as pulumi_error
from tests.bootstrap.world.state import ready_workload as ready_workload
from tests.bootstrap.world.workstation import FakeClock as FakeClock
from tests.bootstrap.world.workstation import FakeDeployer as FakeDeployer
from tests.bootstrap.world.workstation import FakeGit as FakeGit
from tests.bootstrap.world.workstation import FakeTools as FakeTools
from tests.bootstrap.world.workstation import fake_clients as fake_clients
