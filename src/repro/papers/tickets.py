"""Grokking Tickets (Minegishi, Iwasawa, Matsuo; arXiv 2310.19470, v3 "Bridging Lottery Ticket
and Grokking"): figures and claims, from the logged runs (and, for Figs 7, 18 and 19, the base
run's weight snapshots and the mask files the runs were trained with).

Definitions (v3 section 3): t_mem (t_gen) = the first evaluated step with train (test) accuracy
> 0.95; tau_grok = t_gen / t_mem. A run that never crosses within its budget has t = NaN
("never"): for "slower than" claims that is a lower bound (slower than its budget). The paper's
values come from shared/papers/grokking.md section 3 (v3 text; figures read qualitatively).

The figure code, one module per family: _speed (Figs 1, 2, 10, 11), _pruning (Figs 3, 4, 17),
_controls (Figs 5, 6, 16), _structure (Figs 7, 8, 18, 19), _graphs (Figs 9a, 9b, 20,
Table 1), _tasks (Figs 2d, 2e, 15: polynomial regression and sparse parity);
_runs holds the per-run numbers and curves they share.
"""

from __future__ import annotations

import repro.papers.tickets_controls as controls
import repro.papers.tickets_graphs as graphs
import repro.papers.tickets_pruning as pruning
import repro.papers.tickets_speed as speed
import repro.papers.tickets_structure as structure
import repro.papers.tickets_tasks as tasks

TITLE = "Grokking Tickets / Bridging Lottery Ticket and Grokking"

FIGURES = {
    "fig1": speed.fig1,
    "fig2": speed.fig2,
    "fig3": pruning.fig3,
    "fig4": pruning.fig4,
    "fig5": controls.fig5,
    "fig6": controls.fig6,
    "fig7": structure.fig7,
    "fig8": structure.fig8,
    "fig9": graphs.fig9,
    "fig10": speed.fig10,
    "fig11": speed.fig11,
    "fig16": controls.fig16,
    "fig17": pruning.fig17,
    "fig18": structure.fig18,
    "fig19": structure.fig19,
    "fig20": graphs.fig20,
    "table1": graphs.table1,
    "fig2d": tasks.fig2d,
    "fig2e": tasks.fig2e,
    "fig9b": graphs.fig9b,
    "fig15": tasks.fig15,
}
