"""Each publication gate as a blocking asset check on ``publication``, so the Dagster UI
shows which gate stopped a publication and with what figures. The decision itself is
taken (and recorded) by ``skillpath.publish``; these checks report it.

A gate that blocked is a failed check of severity ERROR. A warning or an audit that could
not run is a failed check of severity WARN (yellow, not blocking): never a green pass."""

import dagster as dg

from skillpath.publish.gates import ATTENTION, GATE_NAMES, PASSED


def _gate_check(gate_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey("publication"),
        name=f"gate_{gate_name}",
        blocking=True,
        description=f"The {gate_name} gate of the latest publication passed.",
    )
    def _check(publication: dict) -> dg.AssetCheckResult:
        gate = next((g for g in publication["gates"] if g["name"] == gate_name), None)
        if gate is None:
            return dg.AssetCheckResult(passed=False, metadata={"message": "gate did not run"})
        blocks = not gate["passed"]
        return dg.AssetCheckResult(
            passed=gate["status"] == PASSED,
            severity=dg.AssetCheckSeverity.ERROR if blocks else dg.AssetCheckSeverity.WARN,
            description=gate["message"],
            metadata={
                "status": gate["status"],
                "needs_attention": gate["status"] in ATTENTION,
                "publication_id": publication["publication_id"],
                "figures": dg.MetadataValue.json(gate["figures"]),
            },
        )

    return _check


GATE_CHECKS = [_gate_check(name) for name in GATE_NAMES]
