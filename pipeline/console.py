"""What a run prints: one line per finished stage, and a summary table at the end. Pure text.

The engines' own log lines never reach the console unless asked for (see engine_logs); progress
of the long stages is drawn by pipeline.progress.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.manifest import Manifest, Stage


def stage_line(stage: Stage) -> str:
    rate = stage.rows_out / stage.seconds if stage.seconds else 0.0
    return (
        f"  {stage.name:<15} in {stage.rows_in:>11,}  out {stage.rows_out:>11,}  "
        f"{stage.seconds:7.1f}s  {rate:>9,.0f} rows/s"
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain text table: columns as wide as their widest cell, `right` aligns numbers."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if align else cell.ljust(width)
            for cell, width, align in zip(cells, widths, right, strict=True)
        )
        return "  " + "  ".join(padded).rstrip()

    rule = "  " + "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def summary(manifest: Manifest, where: Sequence[tuple[str, str]] = ()) -> str:
    """The run at a glance: its stages, its gates and counts, and where to look next."""
    stages = table(
        ("stage", "rows in", "rows out", "seconds", "rows/s"),
        [
            (
                s.name,
                f"{s.rows_in:,}",
                f"{s.rows_out:,}",
                f"{s.seconds:,.1f}",
                f"{s.rows_out / s.seconds:,.0f}" if s.seconds else "-",
            )
            for s in manifest.stages
        ],
        (False, True, True, True, True),
    )
    gates = ", ".join(
        f"{g.get('dataset')} {'passed' if g.get('success') else 'FAILED'}" for g in manifest.gates
    )
    checks = manifest.reconciliation.values()
    agreed = sum(1 for c in checks if c.get("ok"))
    seconds = sum(s.seconds for s in manifest.stages)
    facts = [
        ("run", f"{manifest.run_id}: {manifest.status} in {seconds:,.1f}s"),
        ("gates", gates or "none ran"),
        ("counts", f"{agreed} of {len(checks)} reconciliation checks agree"),
    ]
    if manifest.problem:
        facts.append(("problem", manifest.problem))
    facts.extend(where)
    width = max(len(name) for name, _ in facts)
    return "\n".join([stages, "", *(f"  {name:<{width}}  {value}" for name, value in facts)])
