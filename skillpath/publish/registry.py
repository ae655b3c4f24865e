"""The gates of a publication, in order, as the configuration sets them."""

from __future__ import annotations

from skillpath.config import Config
from skillpath.publish.fairness import FairnessGate
from skillpath.publish.gates import DataQualityGate, GateRegistry, model_quality_gate


def gate_registry(config: Config) -> GateRegistry:
    return GateRegistry(
        [
            DataQualityGate(max_quarantine_share=config.ingest.max_quarantine_share),
            model_quality_gate(config),
            FairnessGate(config.fairness),
        ]
    )
