"""How ``skillpath run`` and ``skillpath ingest`` report a job while it runs: a few named
stages on the terminal, every Dagster event once in the log file.

A step belongs to the first stage that names its node (an asset's function, or for an
asset check the function of the asset it checks), otherwise to the first stage that names
the asset's group; an asset added later therefore shows up under its group's stage
without a change here. Stages a job does not touch are not shown, so ``skillpath ingest``
counts its own.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

import dagster as dg

from skillpath.console import LogSink, Terminal

INGEST_GROUPS = ("ingest_landing", "ingest_hr", "ingest_lms", "ingest_surveys")


@dataclass(frozen=True)
class Stage:
    label: str
    groups: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()


STAGES = (
    Stage("ingest landing files", groups=INGEST_GROUPS),
    Stage("dbt build", nodes=("skillpath_dbt_models",)),
    Stage("org skill-gap report", groups=("marts",)),
    Stage("training dataset", nodes=("training_dataset",)),
    Stage("evaluation against the baselines", nodes=("model_evaluation",)),
    Stage("model training", groups=("recommender",)),
    Stage("candidate recommendations", nodes=("candidate_recommendations",)),
    Stage("gates and publication", groups=("publishing",)),
)
OTHER = Stage("other steps")
LOADING = "load the pipeline (Dagster, dbt manifest)"
MAX_MESSAGES_PER_STAGE = 6
# logged without --verbose too, although Dagster logs them at DEBUG: the log's timeline
MILESTONES = {"RUN_START", "RUN_SUCCESS", "RUN_FAILURE", "STEP_START", "STEP_SUCCESS"}


def stage_by_step(defs: dg.Definitions, job: dg.JobDefinition) -> dict[str, Stage]:
    graph = defs.resolve_asset_graph()
    steps = {node.name for node in job.nodes_in_topological_order}
    result: dict[str, Stage] = {}
    for assets_def in graph.assets_defs:
        step = assets_def.node_def.name
        if step not in steps:
            continue
        keys = list(assets_def.keys) or [check.asset_key for check in assets_def.check_keys]
        if not keys:
            continue
        owner = graph.assets_def_for_key(keys[0])
        node, group = owner.node_def.name, graph.get(keys[0]).group_name
        result[step] = next((s for s in STAGES if node in s.nodes), None) or next(
            (s for s in STAGES if group in s.groups), OTHER
        )
    return result


class RunProgress:
    """An event listener of the Dagster instance for one run: writes each event to the log
    and moves the terminal from stage to stage, with what a user needs to know (a check
    that failed, a step's error in one line, a warning) under the stage it belongs to."""

    def __init__(
        self,
        stages: dict[str, Stage],
        terminal: Terminal,
        sink: LogSink,
    ) -> None:
        order = [s for s in (*STAGES, OTHER) if s in set(stages.values())]
        self.stages = stages
        self.numbers = {stage: i + 2 for i, stage in enumerate(order)}  # 1 is loading
        self.total = len(order) + 1
        self.terminal = terminal
        self.sink = sink
        # Dagster's debug events (inputs, outputs, plans) only with --verbose, as its console
        self.log_level = logging.DEBUG if terminal.verbose else logging.INFO
        self.current: Stage | None = None
        self.counts: Counter[str] = Counter()
        self.messages = 0
        self.seen: list[str] = []
        self.failed_steps: list[str] = []

    # -- the listener ------------------------------------------------------------------
    def __call__(self, entry: dg.EventLogEntry) -> None:
        self._log(entry)
        event = entry.dagster_event
        if event is None:
            # the assets' warnings (a file held back, files ignored); errors come as step
            # failures, and Dagster's own ERROR lines ("Dependencies for step … failed")
            # only repeat one
            if entry.level == logging.WARNING and entry.user_message:
                self._say(self.terminal.warn, entry.user_message.splitlines()[0])
            return
        kind = event.event_type_value
        if kind == "STEP_START" and event.step_key:
            self._enter(self.stages.get(event.step_key, OTHER))
        elif kind == "ASSET_MATERIALIZATION":
            self.counts["assets"] += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            self._check(event)
        elif kind == "STEP_FAILURE" and event.step_key:
            self._step_failed(event)
        elif kind in ("RUN_SUCCESS", "RUN_FAILURE"):
            self.finish()
        self._detail()

    def loaded(self) -> None:
        """The definitions are loaded: number the loading stage now that the total is known."""
        self.terminal.number_stage(1, self.total)

    def finish(self) -> None:
        outcome = ""
        if self.current and self.counts["failed_steps"]:
            crashed = self.counts["failed_steps"] > self.counts["stopped_by_checks"]
            outcome = "failed" if crashed else "blocked by a check"
        self.terminal.end_stage(outcome)
        self.current = None

    # -- helpers -----------------------------------------------------------------------
    def _enter(self, stage: Stage) -> None:
        if stage == self.current:
            return
        self.finish()
        self.current, self.counts, self.messages, self.seen = stage, Counter(), 0, []
        self.terminal.start_stage(stage.label, self.numbers.get(stage), self.total)

    def _check(self, event: dg.DagsterEvent) -> None:
        data = event.asset_check_evaluation_data
        if data.passed:
            self.counts["checks passed"] += 1
            return
        self.counts["checks failed"] += 1
        name = f"{data.asset_key.to_user_string()} {data.check_name}"
        description = data.description or "no description"
        severe = data.severity == dg.AssetCheckSeverity.ERROR
        emit = self.terminal.error if severe else self.terminal.warn
        self._say(emit, f"check {name} failed: {description}", about=description)

    def _step_failed(self, event: dg.DagsterEvent) -> None:
        self.failed_steps.append(event.step_key)
        self.counts["failed_steps"] += 1
        error = event.step_failure_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            self.counts["stopped_by_checks"] += 1
            return  # a blocking check, reported as it was evaluated: a decision, not a crash
        if error is None:
            return
        cause = error
        while cause.cause is not None and cause.cls_name.startswith("Dagster"):
            cause = cause.cause  # the user code's exception, not Dagster's wrapper
        first = (cause.message or "").strip().splitlines()
        self._say(self.terminal.error, f"{event.step_key}: {first[0] if first else cause.cls_name}")

    def _say(self, emit, text: str, about: str | None = None) -> None:
        """Show a message under the stage, unless it repeats one already shown (a gate's
        warning and its check say the same); ``about`` is what is compared."""
        about = about or text
        if any(about in seen or seen in about for seen in self.seen):
            return
        self.seen.append(about)
        self.messages += 1
        if self.messages <= MAX_MESSAGES_PER_STAGE:
            emit(text)
        elif self.messages == MAX_MESSAGES_PER_STAGE + 1:
            self.terminal.warn(f"… more in the log: {self.sink.path}")

    def _detail(self) -> None:
        parts = [
            f"{n} {noun if n == 1 else plural}"
            for n, noun, plural in (
                (self.counts["assets"], "asset", "assets"),
                (self.counts["checks passed"], "check passed", "checks passed"),
                (self.counts["checks failed"], "check failed", "checks failed"),
            )
            if n
        ]
        self.terminal.stage_detail(", ".join(parts))

    def _log(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        milestone = event is not None and event.event_type_value in MILESTONES
        if entry.level < self.log_level and not milestone:
            return
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
        level = logging.getLevelName(entry.level)
        where = entry.step_key or "-"
        if event is None:
            self.sink.line(f"{at} {level} dagster {where}: {entry.user_message}")
            return
        message = event.message or ""
        self.sink.line(f"{at} {level} dagster {where}: {event.event_type_value} {message}")
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data.error:
            self.sink.write(event.step_failure_data.error.to_string())
