"""``compare.py gradients``: the ELBO's gradient estimators, the beta-weighted ELBO and Gumbel-softmax."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cli import common
from models.families import FAMILIES

NAME = "gradients"
HELP = (
    "variational inference against exact answers: ELBO gradient estimators, the beta-weighted "
    "ELBO, Gumbel-softmax"
)
EXAMPLE = """\
examples:
  python compare.py gradients                       # the three Gaussian families (about 7 min)
  python compare.py gradients --model normal_normal --n 10 100 1000 --samples 1 10
  python compare.py gradients --model linear_regression --set coefficients=3 --reps 2000

For each family with a Gaussian posterior, N and one simulated data set, a Gaussian q is
put at the ELBO's maximum and off it (mean moved by 1 and 3 posterior sd, sd halved and
doubled); each estimator of the ELBO's gradient (score function with and without the
optimal baseline, PyMC's ADVI pathwise gradient, sticking the landing) is repeated --reps
times with --samples draws and compared with the exact gradient and exact variance.
gradients.csv holds every row, beta_elbo.csv the beta-weighted fits against the tempered
posterior, gumbel.csv the categorical-latent estimators against temperature.
"""


@dataclass
class Plan:
    """A validated gradients run: its GradientConfig and the flags."""

    config: object
    args: object
    command_line: str = "compare.py"


def build_parser() -> common.Parser:
    """Build the gradients command line: samples per estimate, weights, then the shared flags (no engines)."""
    from study.gradients import DEFAULT_REPS, DEFAULT_SAMPLES

    p = common.parser(NAME, HELP, EXAMPLE)
    p.add_argument(
        "--samples",
        nargs="+",
        type=common.whole("samples", 1),
        default=list(DEFAULT_SAMPLES),
        metavar="S",
        help="Monte Carlo samples per gradient estimate (default: 1 10 100)",
    )
    p.add_argument(
        "--weights",
        nargs="+",
        type=common.number("weight", positive=True),
        default=None,
        metavar="W",
        help="weights w of the likelihood in the beta-weighted ELBO, each fitted 6 times "
        "(default: 0.5 1 2 5)",
    )
    reps = dict(
        type=common.whole("reps", 10),
        default=DEFAULT_REPS,
        help=f"repeated estimates per row, for the mean and variance (default: {DEFAULT_REPS})",
    )
    model_help = ("families with a Gaussian posterior: a key, a comma list or 'all' (default: all: "
                  "normal_normal, multivariate_normal_known_cov, linear_regression)")  # fmt: skip
    common.add_data_flags(p, reps=reps, model_default="all", model_help=model_help)
    common.add_where_flags(p)
    return common.add_tail(p, progress=False)  # no sampler runs, so no progress bar to show


def parse(argv: list[str] | None) -> Plan:
    """Parse and validate the gradients command line into a GradientConfig."""
    from study.gradients import GradientConfig, gaussian_families

    args = build_parser().parse_args(argv)
    gaussian = gaussian_families()
    if args.model.strip() == "all":
        models = gaussian
    else:
        models = common.parse_names(args.model, FAMILIES, "model")
        other = [m for m in models if m not in gaussian]
        if other:
            raise common.BadInput(
                f"model {other[0]!r} has no Gaussian posterior; gradients needs one of: {', '.join(gaussian)}"
            )
    settings = common.family_settings(models, args)
    common.check_out(args.out)
    config = GradientConfig(
        families=tuple(models),
        settings=settings,
        ns=common.sizes(args.n),
        samples=common.sizes(args.samples),
        reps=args.reps,
        seed=args.seed,
        weights=common.sizes(args.weights) if args.weights else GradientConfig.weights,
    )
    return Plan(config, args)


def run(plan: Plan) -> int:
    """Run the estimators, the beta-ELBO fits and Gumbel-softmax; exit 1 if a check fails."""
    from study.gradients.units import plan_units

    units = len(plan_units(plan.config))
    return common.on_executor(plan.args, lambda executor: _run(plan, executor), units=units)


def _run(plan: Plan, executor) -> int:
    from report.gradients import gradients_report, write_gradients
    from study.gradients import judge_beta, judge_gradients
    from study.gradients.units import run_all

    config, args = plan.config, plan.args
    try:
        measured, fitted, gumbel = run_all(config, executor=executor)
    except RuntimeError as err:
        common.log(f"error: a gradients unit failed: {err}")
        return 1
    # one alpha for the run: half to the gradient rows, half to the beta-ELBO fits
    gradients = judge_gradients(measured, args.alpha / 2)
    beta = judge_beta(fitted, args.alpha / 2)
    report = gradients_report(gradients, beta, gumbel, args.alpha)
    record = {
        "families": list(config.families),
        "ns": list(config.ns),
        "samples": list(config.samples),
        "reps": config.reps,
        "seed": config.seed,
        "settings": {k: dataclasses.asdict(v) for k, v in config.settings.items()},
    }
    write = lambda: write_gradients(report, args.out, record, plan.command_line)  # noqa: E731
    if not common.show_and_write(report.text, write, args.out):
        return 2
    return common.list_failures(report.failure_lines(), shown=20)
