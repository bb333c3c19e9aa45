"""The control plane's workflows: they decide; activities (``activities/``) touch the world."""

from workflows.deploy import DeployInstanceWorkflow
from workflows.partitions import PartitionWorkflow
from workflows.scaler import ServiceScalerWorkflow
from workflows.ticks import ControlTickWorkflow

WORKFLOWS = [ServiceScalerWorkflow, DeployInstanceWorkflow, PartitionWorkflow, ControlTickWorkflow]
