"""What counts as the cluster losing a run (Ray's lost-node and lost-object errors),
and what is said about it; an error raised inside a stage is the stage's own."""

from __future__ import annotations

from pathlib import Path

from ray import exceptions

from curation.base import ShardSpec
from paraimage.recovery import RecoveringCollector, is_cluster_loss, lost_cluster_message
from paraimage.rundir import RunDir


def test_lost_nodes_and_actors_are_cluster_losses_a_stages_error_is_not() -> None:
    assert is_cluster_loss(exceptions.NodeDiedError("node gone"))
    assert is_cluster_loss(exceptions.ActorDiedError())
    assert is_cluster_loss(exceptions.LocalRayletDiedError())
    # a stage that raised (even a system error while unpickling it) is not a lost node
    in_a_stage = exceptions.RayTaskError("f", "tb", exceptions.RaySystemError("x"))
    assert not is_cluster_loss(in_a_stage.as_instanceof_cause())
    assert not is_cluster_loss(ValueError("bad row"))


def test_the_message_says_how_far_the_run_got_and_how_to_resume(tmp_path: Path) -> None:
    shards = [ShardSpec(f"s{i}", "gen", "/x", 0 if i < 2 else 3) for i in range(5)]
    collector = RecoveringCollector(shards, lambda s: tmp_path / f"{s}.parquet")
    collector.flush_empty()  # two shards complete
    message = lost_cluster_message(exceptions.NodeDiedError("head node 10.0.0.1 died\nmore"),
                                   RunDir(tmp_path), collector)
    assert message == (
        "the Ray cluster lost what this run needed and could not rebuild it "
        "(NodeDiedError: head node 10.0.0.1 died). 2 of the 5 shards of this invocation "
        f"are complete in {tmp_path}; run the same command again to resume: complete "
        "shards are kept, the rest are redone"
    )


def test_recovery_lines_name_lost_nodes_and_redelivered_rows(tmp_path: Path) -> None:
    collector = RecoveringCollector([], lambda s: tmp_path / f"{s}.parquet")
    assert collector.recovery_lines() == []
    collector.note_nodes_lost({"abcdef0123456789"}, {"abcdef0123456789": "10.0.0.7"})
    collector.redelivered = 3
    lines = collector.recovery_lines()
    assert lines[0].startswith("1 node(s) lost during the run (abcdef012345 (10.0.0.7)): "
                               "Ray redid their work")
    assert lines[1] == ("3 rows re-delivered by retried tasks were dropped (their first "
                        "copy was kept)")
