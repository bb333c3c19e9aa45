"""The control plane's workflows: they decide; activities (``activities/``) touch the world.

Start reading at the two pure decisions in ``decide/``, ``scaling.py`` (how many instances) and
``partitions.py`` (how many partitions); then ``scaler.py`` (one workflow per service: measure ▸
decide ▸ act, with its cooldown timer), ``deploy.py`` (one per instance: create, heartbeat-deadline
timer, roll back) and ``partitions.py`` (one per topic). ``messages.py`` and ``state.py`` hold
every type they exchange and keep.
"""

from workflows.deploy import DeployInstanceWorkflow
from workflows.partitions import PartitionWorkflow
from workflows.scaler import ServiceScalerWorkflow
from workflows.ticks import ControlTickWorkflow

WORKFLOWS = [ServiceScalerWorkflow, DeployInstanceWorkflow, PartitionWorkflow, ControlTickWorkflow]
