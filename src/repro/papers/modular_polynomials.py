"""Furuta et al., TMLR 2024 (arXiv 2402.16726): grokked transformers on modular polynomials.

Figures and tables from the logged runs: accuracy and FFD/FCR curves come from metrics.parquet
(the `ffd_fcr`, `fourier_norms` and `task_accuracy` measures); Fourier spectra, logit spectra and
the ablations of App. E come from the runs' final weights (modular_polynomials_analysis).
Numbers quoted from the paper are in shared/papers/grokking.md section 4. "Groks" here means
the validation (test) accuracy reaches 0.95 within the budget [I]; runs stop at 0.99.

The figure code, one module per family: _setup (Fig 1, Tables A.2, A.3: from the config and the
operation registry, no training), _spectra (Figs 3, 5, 7, A.18-A.21), _accuracy (Figs 4, 6,
A.13, A.17, A.22), _progress (FFD / FCR against steps: Figs 8, A.14-A.16), _pregrokked (Figs 2,
9, A.24, Table 1), _multitask (Figs 10, 11), _ablations (Table A.4, Fig A.12), _operations
(Table A.5, Fig A.23); _runs holds what they share, _analysis the analyses of final weights.
"""

from __future__ import annotations

import repro.papers.modular_polynomials_ablations as ablations
import repro.papers.modular_polynomials_accuracy as accuracy
import repro.papers.modular_polynomials_multitask as multitask
import repro.papers.modular_polynomials_operations as operations
import repro.papers.modular_polynomials_pregrokked as pregrokked
import repro.papers.modular_polynomials_progress as progress
import repro.papers.modular_polynomials_setup as setup
import repro.papers.modular_polynomials_spectra as spectra

TITLE = (
    "Towards Empirical Interpretation of Internal Circuits and Properties in Grokked "
    "Transformers on Modular Polynomials"
)

FIGURES = {
    "fig1": setup.fig1,
    "fig2": pregrokked.fig2,
    "fig3": spectra.fig3,
    "fig4": accuracy.fig4,
    "fig5": spectra.fig5,
    "fig6": accuracy.fig6,
    "fig7": spectra.fig7,
    "fig8": progress.fig8,
    "fig9": pregrokked.fig9,
    "table1": pregrokked.table1,
    "fig10": multitask.fig10,
    "fig11": multitask.fig11,
    "table_a2": setup.table_a2,
    "table_a3": setup.table_a3,
    "table_a4": ablations.table_a4,
    "fig_a12": ablations.fig_a12,
    "fig_a13": accuracy.fig_a13,
    "fig_a14": progress.fig_a14,
    "fig_a15": progress.fig_a15,
    "fig_a16": progress.fig_a16,
    "table_a5": operations.table_a5,
    "fig_a17": accuracy.fig_a17,
    "fig_a18": spectra.fig_a18,
    "fig_a19": spectra.fig_a19,
    "fig_a20": spectra.fig_a20,
    "fig_a21": spectra.fig_a21,
    "fig_a22": accuracy.fig_a22,
    "fig_a23": operations.fig_a23,
    "fig_a24": pregrokked.fig_a24,
}
