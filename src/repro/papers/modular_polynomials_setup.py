"""Furuta et al.: the set-up figures, drawn from our configuration, not from training: Fig 1 (which
modules a pre-grokked model loads and freezes), Table A.2 (hyper-parameters) and Table A.3 (the
classes of expressions). None of them trains anything (`experiments: []`): Fig 1 and Table A.2
read the runs the planner expands from config/papers/modular_polynomials.yaml at the current
scale, and build their model and data; Table A.3 classifies the operation registry
(repro.data.modular / repro.data.polynomials) by the form of each polynomial (sympy).
"""

from __future__ import annotations

from collections import OrderedDict

import pandas as pd
import sympy
from matplotlib.patches import Patch, Rectangle

from repro.data import build_dataset
from repro.data.modular import expression
from repro.data.polynomials import POLYNOMIALS, pretty
from repro.figures import plt, table_figure
from repro.measures import fourier
from repro.models import build_model
from repro.plan import format_value, load_paper, plan_experiment
from repro.surgery import matching

PAPER = "modular_polynomials"

# ---------------------------------------------------------------------------------------------
# Table A.3: classes of expressions, derived from each polynomial's form

A, B, S = sympy.symbols("a b s")
ELEMENTARY = ("add", "sub", "mul", "div")  # the paper's four elementary operations

# (class, the rule that puts an expression in it), in the order the rules are tried
CLASSES = OrderedDict(
    [
        ("elementary arithmetic", "a+b, a-b, ab or a/b"),
        ("linear", "total degree 1 (other coefficients)"),
        ("power of a sum or difference (factorizable)", "a function of a+b or of a-b alone"),
        ("sum of univariate terms", "no monomial holds both a and b"),
        ("multiplication plus linear (factorizable)", "degree <= 1 in a and in b, with ab"),
        ("cross terms (non-factorizable)", "anything else: a and b mixed in a higher power"),
    ]
)


def polynomial(operation: str) -> sympy.Expr:
    """The expression of an operation as a sympy expression in a and b (expanded)."""
    text = expression(operation).replace("^", "**")
    return sympy.expand(sympy.sympify(text, locals={"a": A, "b": B}))


def only_through(f: sympy.Expr, sign: int) -> bool:
    """Whether f(a, b) is a function of a + sign*b alone: with a = s - sign*b, b cancels."""
    return B not in sympy.expand(f.subs(A, S - sign * B)).free_symbols


def expression_class(operation: str) -> str:
    """The paper's class of an operation (Table A.3), from its form: see CLASSES."""
    f = polynomial(operation)
    if f in (A + B, A - B, A * B, A / B):
        return "elementary arithmetic"
    if not f.is_polynomial(A, B):
        raise ValueError(f"{operation!r}: only polynomials and a/b are classified")
    poly = sympy.Poly(f, A, B)
    if poly.total_degree() <= 1:
        return "linear"
    if only_through(f, 1) or only_through(f, -1):
        return "power of a sum or difference (factorizable)"
    mixed = [m for m in poly.monoms() if m[0] > 0 and m[1] > 0]
    if not mixed:
        return "sum of univariate terms"
    if poly.degree(A) <= 1 and poly.degree(B) <= 1:
        return "multiplication plus linear (factorizable)"
    return "cross terms (non-factorizable)"


def expression_classes() -> pd.DataFrame:
    """One row per class: its rule and the operations of the registry in it."""
    operations = [*ELEMENTARY, *POLYNOMIALS]
    members = {name: [] for name in CLASSES}
    for operation in operations:
        members[expression_class(operation)].append(operation)
    return pd.DataFrame(
        [
            {
                "class": name,
                "rule (ours, from the form)": rule,
                "operations": ", ".join(pretty(op) for op in members[name]),
                "names": " ".join(members[name]),
            }
            for name, rule in CLASSES.items()
        ]
    )


def table_a3(tables, scale):
    data = expression_classes()
    fig = table_figure(
        data.drop(columns="names"), "Classes of expressions (from each polynomial's form)"
    )
    return fig, data, []


# ---------------------------------------------------------------------------------------------
# Table A.2: hyper-parameters of our planned runs beside the paper's

# The paper's values (shared/papers/grokking.md section 4.1; Table A.2 and the text); a
# reference column only.
PAPER_VALUES = {
    "modulus p": "97, 59, 113",
    "train fraction r": "0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9",
    "vocabulary": "102",
    "input length": "3",
    "layers": "1",
    "d_model": "128",
    "heads": "4",
    "d_mlp": "512",
    "activation": "relu",
    "LayerNorm": "false",
    "positional embedding": "none",
    "biases": "none",
    "embedding / unembedding": "untied",
    "initialisation": "N(0, 1/sqrt(d_out))",
    "optimizer": "adamw",
    "learning rate": "0.001",
    "betas": "0.9, 0.98",
    "weight decay": "1",
    "batch": "full",
    "steps": "300000",
    "early stop at val accuracy": "not stated",
    "loss": "cross-entropy in float64",
    "seeds": "3",
    "FFD threshold eta": "0.5",
}
NOTES = {
    "modulus p": "paper: 97, and 59, 113 in App. J",
    "train fraction r": "paper: 0.3 by default, 0.3-0.9 in Table A.5",
    "vocabulary": "ours p + 2 (one op token, '='); paper p + 5 (five op tokens and '=')",
    "input length": "ours [a, op, b, =], answer read at '='; paper [a, op, b]",
    "positional embedding": "kept so the last token can tell a from b (yaml top comments)",
    "biases": "torch Linear defaults (yaml top comments)",
    "steps": "paper text 3e5; its Table A.2 says 1e6 epochs, its code 1e5",
}


def distinct(values) -> str:
    """The distinct values of a hyper-parameter over the planned runs, in order of appearance."""
    return ", ".join(dict.fromkeys(values))


def values(text: str) -> set[str]:
    """A table cell as the set of its comma-separated values (order does not matter)."""
    return {part.strip() for part in text.split(",")}


def model_facts(config) -> dict[str, str]:
    """What the built model and data of a run have (not what its config says it should)."""
    dataset = build_dataset(config.data, config.seed)
    model = build_model(config.model, dataset)
    names = dict(model.named_parameters())
    tied = any(p is names.get("unembed.weight") for n, p in names.items() if n.startswith("embed"))
    return {
        "vocabulary": str(dataset.vocab_size),
        "input length": str(dataset.seq_len),
        "positional embedding": "learned" if "position" in names else "none",
        "biases": "yes" if any(n.endswith(".bias") for n in names) else "none",
        "embedding / unembedding": "tied" if tied else "untied",
    }


def hyperparameters(scale: str) -> pd.DataFrame:
    """Table A.2 of our planned runs at `scale` (every experiment; distinct values joined),
    beside the paper's. The model facts come from the scratch experiment's first run."""
    spec = load_paper(PAPER)
    runs = [
        run.config
        for experiment in spec["experiments"]
        for run in plan_experiment(spec, experiment, scale)
    ]
    facts = model_facts(plan_experiment(spec, "scratch", scale)[0].config)
    train = [c.train for c in runs]
    ours = {
        "modulus p": distinct(format_value(c.data["p"]) for c in runs),
        "train fraction r": distinct(format_value(c.data["train_fraction"]) for c in runs),
        "vocabulary": facts["vocabulary"],
        "input length": facts["input length"],
        "layers": distinct(format_value(c.model["n_layers"]) for c in runs),
        "d_model": distinct(format_value(c.model["d_model"]) for c in runs),
        "heads": distinct(format_value(c.model["n_heads"]) for c in runs),
        "d_mlp": distinct(format_value(c.model["d_mlp"]) for c in runs),
        "activation": distinct(c.model.get("activation", "relu") for c in runs),
        "LayerNorm": distinct(format_value(c.model.get("layer_norm", True)) for c in runs),
        "positional embedding": facts["positional embedding"],
        "biases": facts["biases"],
        "embedding / unembedding": facts["embedding / unembedding"],
        "initialisation": distinct(c.model.get("init", "torch defaults") for c in runs),
        "optimizer": distinct(c.optimizer.name for c in runs),
        "learning rate": distinct(format_value(c.optimizer.lr) for c in runs),
        "betas": distinct(", ".join(format_value(v) for v in c.optimizer.betas) for c in runs),
        "weight decay": distinct(format_value(c.optimizer.weight_decay) for c in runs),
        "batch": distinct("full" if t.batch_size is None else str(t.batch_size) for t in train),
        "steps": distinct(str(t.steps) for t in train),
        "early stop at val accuracy": distinct(format_value(t.stop_at_val_accuracy) for t in train),
        "loss": distinct(
            "cross-entropy in float64" if t.loss == "cross_entropy64" else t.loss for t in train
        ),
        "seeds": str(len({c.seed for c in runs})),
        "FFD threshold eta": format_value(fourier.ETA),
    }
    rows = [
        {
            "hyper-parameter": name,
            f"ours ({scale})": ours[name],
            "paper": paper,
            "differs": "yes" if values(ours[name]) != values(paper) else "",
            "note": NOTES.get(name, ""),
        }
        for name, paper in PAPER_VALUES.items()
    ]
    return pd.DataFrame(rows)


def table_a2(tables, scale):
    data = hyperparameters(scale)
    fig = table_figure(data, f"Hyper-parameters: our planned runs at scale {scale} vs the paper")
    return fig, data, []


# ---------------------------------------------------------------------------------------------
# Fig 1: which modules a pre-grokked model loads and freezes

LABELS = {
    "embed": "W_E: token embedding",
    "position": "positional embedding",
    "blocks.0.query": "attention W_Q",
    "blocks.0.key_value": "attention W_K, W_V",
    "blocks.0.attention_out": "attention W_O",
    "blocks.0.mlp.0": "MLP W_in (ReLU)",
    "blocks.0.mlp.2": "MLP W_out",
    "unembed": "W_U: unembedding",
}
STATES = {  # light fills, so that the black labels stay readable
    "loaded, frozen": "#9ecae1",
    "loaded, trained": "#a1d99b",
    "frozen at init": "#fdae6b",
    "trained from init": "0.93",
}


def module_of(parameter: str) -> str:
    """The module holding a parameter: its name less the last part (and a trailing .weight
    of a wrapped embedding)."""
    module = parameter.rsplit(".", 1)[0] if "." in parameter else parameter
    return module.removesuffix(".weight")


def schemes(scale: str) -> tuple[OrderedDict, object]:
    """{scheme label: (loads an upstream run, init_parameters, freeze)} of the scratch,
    pre-grokked (pg: variants that share the same lists are one scheme) and frozen random
    embedding experiments, and the scratch run's config."""
    spec = load_paper(PAPER)
    found = OrderedDict()
    for experiment in ("scratch", "pg", "random_embedding"):
        for run in plan_experiment(spec, experiment, scale):
            train = run.config.train
            key = (bool(train.init_from), train.init_parameters, train.freeze)
            found.setdefault(key, []).append(run.config.variant or experiment)
    labelled = OrderedDict(
        (" / ".join(dict.fromkeys(labels)), key) for key, labels in found.items()
    )
    return labelled, plan_experiment(spec, "scratch", scale)[0].config


def module_states(scale: str) -> pd.DataFrame:
    """One row per (scheme, module): parameter count and whether it is loaded / frozen."""
    labelled, config = schemes(scale)
    model = build_model(config.model, build_dataset(config.data, config.seed))
    params = dict(model.named_parameters())
    rows = []
    for scheme, (has_upstream, loaded, frozen) in labelled.items():
        loaded_names = set()
        if has_upstream:  # no init_parameters: the whole upstream model is loaded
            loaded_names = matching(params, loaded, "init_parameters") if loaded else set(params)
        frozen_names = matching(params, frozen, "freeze") if frozen else set()
        modules = {}
        for name, tensor in params.items():
            modules.setdefault(module_of(name), []).append((name, tensor.numel()))
        order = list(LABELS)  # input side first; modules not in LABELS after, as found
        ranked = sorted(modules, key=lambda m: order.index(m) if m in order else len(order))
        for module in ranked:
            members = modules[module]
            names = {n for n, _ in members}
            is_loaded, is_frozen = names <= loaded_names, names <= frozen_names
            state = (
                ("loaded, frozen" if is_frozen else "loaded, trained")
                if is_loaded
                else ("frozen at init" if is_frozen else "trained from init")
            )
            rows.append(
                {
                    "scheme": scheme,
                    "module": module,
                    "parameters": sum(n for _, n in members),
                    "state": state,
                }
            )
    return pd.DataFrame(rows)


def fig1(tables, scale):
    data = module_states(scale)
    scheme_names = list(dict.fromkeys(data["scheme"]))
    fig, ax = plt.subplots(figsize=(3.2 * len(scheme_names) + 1, 5.2), layout="constrained")
    for column, scheme in enumerate(scheme_names):
        part = data[data["scheme"] == scheme].reset_index(drop=True)
        for row, entry in part.iterrows():  # input at the bottom, unembedding at the top
            ax.add_patch(
                Rectangle((column * 3.2, row), 2.9, 0.8, color=STATES[entry["state"]], ec="black")
            )
            label = LABELS.get(entry["module"], entry["module"])
            ax.text(
                column * 3.2 + 1.45,
                row + 0.4,
                f"{label}\n{entry['parameters']:,} params",
                ha="center",
                va="center",
                fontsize=7,
            )
        ax.text(column * 3.2 + 1.45, len(part) + 0.2, scheme, ha="center", fontsize=8, wrap=True)
    height = data.groupby("scheme").size().max() + 1  # boxes, one per module, and a title
    ax.set(xlim=(-0.2, 3.2 * len(scheme_names)), ylim=(-0.3, height))
    ax.axis("off")
    ax.legend(
        handles=[Patch(color=c, label=s) for s, c in STATES.items()],
        loc="lower center",
        bbox_to_anchor=(0.5, -0.08),
        ncol=4,
        fontsize=8,
    )
    ax.set_title(f"Modules loaded from a grokked run and frozen, per scheme ({scale} model)")
    return fig, data, []
