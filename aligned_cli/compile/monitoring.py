"""SQL of `aligned monitor`: predictions scored against ground truth, and drift.

Three queries, all dialect-neutral sqlglot ASTs run on the target engine:

* `scored_query`: one row per logged prediction with its time window, model
  version, label (the model's target: a view feature joined point-in-time at
  `prediction time + label_delay`, or a column of the predictions source), and the
  model's features joined point-in-time at prediction time (`features_query`).
* `performance_query`: per window and version, classification or regression metrics.
* `drift_query`: per feature, window and version, the binned shares of the training
  dataset and of the window, and their population stability index (PSI).

Numeric bins are the training data's deciles (`decile_edges_query`), fixed before
binning any window, so every window is compared with the same reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident, sql_type
from aligned_cli.compile.pit import OutputFeature, features_query
from aligned_cli.compile.relations import source_query
from aligned_cli.core.ir import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    FeatureRef,
    Model,
    Predictions,
    Project,
    Source,
)

WINDOW = "__aligned_window"  # bucket index: floor(epoch seconds / window length)
VERSION = "__aligned_version"  # model version as text; '' when not logged
LABEL = "__aligned_label"
PREDICTION = "__aligned_prediction"
PROBABILITY = "__aligned_probability"
LABEL_TIME = "__aligned_label_time"
# Shares below this count as this much in PSI, so an empty bin adds a large but
# finite term instead of a division by zero.
PSI_FLOOR = 1e-4
LOG_LOSS_EPS = 1e-15
NULL_BIN = "<null>"
# Text values that count as the positive class (labels and predictions).
POSITIVE_TEXT = ("1", "1.0", "true", "t", "yes")
NEGATIVE_TEXT = ("0", "0.0", "false", "f", "no")

Kind = Literal["classification", "regression"]


def feature_column(index: int) -> str:
    """The scored query's name for the model's `index`-th feature (never clashes)."""
    return f"__aligned_f{index}"


@dataclass(frozen=True)
class DriftColumn:
    """One distribution compared between the training dataset and each window.

    `edges` are the upper bounds of the numeric bins (from the training data);
    None bins by category. `binary` bins by positive/negative class instead.
    """

    name: str  # as reported: `view:feature`, or `prediction`
    serving: str  # column of the scored query
    training: str  # column of the training dataset
    edges: tuple[float, ...] | None = None
    binary: bool = False


# --- scored predictions ---------------------------------------------------------


def scored_query(
    project: Project,
    model: Model,
    dialect: Dialect,
    *,
    source_columns: Sequence[str],
    window_seconds: int,
    since_epoch: float | None = None,
) -> exp.Select:
    """One row per prediction: window, version, label, prediction, probability and
    the model's features (`feature_column(i)`), point-in-time at prediction time."""
    assert model.predictions is not None
    logged = model.predictions
    source = project.sources[logged.source]
    timestamp_type = (source.columns or {}).get(logged.event_timestamp)
    features = [OutputFeature(ref, feature_column(i)) for i, ref in enumerate(model.features)]
    with_features = features_query(
        project,
        features,
        source_query(project, source, dialect),
        list(source_columns),
        logged.event_timestamp,
        dialect,
        spine_timezone=source.timezone,
        spine_timestamp_type=timestamp_type,
        defaults=model.defaults,
    )
    columns = [*source_columns, *(f.name for f in features)]
    target = model.target
    if target is not None and target.feature is not None:
        with_label = _join_label(
            project, target.feature, with_features, columns, logged, source, dialect
        )
        label: exp.Expr = column(LABEL, "p")
    else:
        with_label = with_features
        label = column(target.column, "p") if target and target.column else exp.Null()

    instant = dialect.to_instant(
        column(logged.event_timestamp, "p"), source.timezone, timestamp_type
    )
    epoch = exp.TimeToUnix(this=instant)
    bucket = exp.Cast(
        this=exp.Floor(this=exp.Div(this=epoch, expression=exp.Literal.number(window_seconds))),
        to=sql_type("BIGINT"),
    )
    version: exp.Expr = exp.Literal.string("")
    if logged.model_version:
        version = exp.Coalesce(
            this=_text(column(logged.model_version, "p")), expressions=[exp.Literal.string("")]
        )
    probability = column(logged.probability, "p") if logged.probability else exp.Null()
    selected = [
        exp.alias_(bucket, ident(WINDOW)),
        exp.alias_(version, ident(VERSION)),
        exp.alias_(label, ident(LABEL)),
        exp.alias_(column(logged.prediction, "p"), ident(PREDICTION)),
        exp.alias_(probability, ident(PROBABILITY)),
        *(column(f.name, "p") for f in features),
    ]
    where: exp.Expr = exp.Not(this=exp.Is(this=instant.copy(), expression=exp.Null()))
    if since_epoch is not None:
        where = exp.and_(
            where, exp.GTE(this=epoch.copy(), expression=exp.Literal.number(since_epoch))
        )
    return exp.select(*selected).from_(_sub(with_label, "p")).where(where)


def _join_label(
    project: Project,
    target: FeatureRef,
    predictions: exp.Query,
    columns: Sequence[str],
    logged: Predictions,
    source: Source,
    dialect: Dialect,
) -> exp.Query:
    """The target joined point-in-time at `prediction time + label_delay`: a label
    known only later than the prediction is still found (and a later one is not)."""
    instant = dialect.to_instant(
        column(logged.event_timestamp, "q"),
        source.timezone,
        (source.columns or {}).get(logged.event_timestamp),
    )
    label_time = exp.Add(this=instant, expression=dialect.seconds(logged.label_delay))
    spine = exp.select(
        *(column(c, "q") for c in columns), exp.alias_(label_time, ident(LABEL_TIME))
    ).from_(_sub(predictions, "q"))
    return features_query(
        project,
        [OutputFeature(target, LABEL)],
        spine,
        [*columns, LABEL_TIME],
        LABEL_TIME,
        dialect,
        spine_timestamp_type="TIMESTAMP WITH TIME ZONE",
    )


# --- performance ----------------------------------------------------------------


def metric_names(kind: Kind, has_probability: bool) -> tuple[str, ...]:
    if kind == "regression":
        return REGRESSION_METRICS
    if has_probability:
        return CLASSIFICATION_METRICS
    return CLASSIFICATION_METRICS[:4]


def performance_query(scored: exp.Query, kind: Kind, has_probability: bool) -> exp.Query:
    """Per window and version: `count` (predictions), `labelled` (with a label), then
    `metric_names(kind, has_probability)` over the labelled rows."""
    if kind == "regression":
        return _regression(scored)
    return _classification(scored, has_probability)


def _regression(scored: exp.Query) -> exp.Query:
    error = exp.Sub(this=_double(column(PREDICTION)), expression=_double(column(LABEL)))
    labelled = _labelled_only(error)
    metrics = [
        exp.alias_(exp.Avg(this=exp.Abs(this=labelled.copy())), ident("mae")),
        exp.alias_(
            exp.Sqrt(
                this=exp.Avg(this=exp.Pow(this=labelled.copy(), expression=exp.Literal.number(2)))
            ),
            ident("rmse"),
        ),
        exp.alias_(exp.Avg(this=labelled.copy()), ident("bias")),
    ]
    return _grouped(scored, metrics)


def _classification(scored: exp.Query, has_probability: bool) -> exp.Query:
    y, yhat = _positive(column(LABEL)), _positive(column(PREDICTION))
    one = exp.Literal.number(1)

    def count_where(condition: exp.Expr) -> exp.Expr:
        hit = exp.Case(ifs=[exp.If(this=condition, true=one.copy())], default=exp.Literal.number(0))
        return _double(exp.Sum(this=_labelled_only(hit)))

    tp = count_where(exp.and_(y.copy(), yhat.copy()))
    # Accuracy compares the classes themselves (any labels: `cat`/`dog`, 0/1/2); the
    # other metrics are of the positive class (true, 1) against the rest.
    agree = count_where(exp.EQ(this=_class(column(LABEL)), expression=_class(column(PREDICTION))))
    fp = count_where(exp.and_(exp.Not(this=y.copy()), yhat.copy()))
    fn = count_where(exp.and_(y.copy(), exp.Not(this=yhat.copy())))
    labelled = _double(exp.Count(this=column(LABEL)))
    metrics = [
        exp.alias_(_ratio(agree, labelled), ident("accuracy")),
        exp.alias_(
            _ratio(tp.copy(), exp.Add(this=tp.copy(), expression=fp.copy())), ident("precision")
        ),
        exp.alias_(
            _ratio(tp.copy(), exp.Add(this=tp.copy(), expression=fn.copy())), ident("recall")
        ),
        exp.alias_(
            _ratio(
                exp.Mul(this=exp.Literal.number(2), expression=tp.copy()),
                exp.Add(
                    this=exp.Add(
                        this=exp.Mul(this=exp.Literal.number(2), expression=tp.copy()),
                        expression=fp,
                    ),
                    expression=fn,
                ),
            ),
            ident("f1"),
        ),
    ]
    if not has_probability:
        return _grouped(scored, metrics)
    p = _double(column(PROBABILITY))
    eps = exp.Literal.number(LOG_LOSS_EPS)
    loss = exp.Neg(
        this=exp.Case(
            ifs=[
                exp.If(
                    this=y.copy(), true=exp.Ln(this=exp.Greatest(this=p.copy(), expressions=[eps]))
                )
            ],
            default=exp.Ln(
                this=exp.Greatest(
                    this=exp.Sub(this=exp.Literal.number(1), expression=p.copy()),
                    expressions=[eps.copy()],
                )
            ),
        )
    )
    metrics.append(exp.alias_(exp.Avg(this=_labelled_only(loss)), ident("log_loss")))
    grouped = _grouped(scored, metrics)
    auc = _auc(scored)
    keys = [WINDOW, VERSION]
    on = exp.and_(*(exp.EQ(this=column(k, "m"), expression=column(k, "a")) for k in keys))
    return (
        exp.select(
            exp.Column(this=exp.Star(), table=ident("m")),
            exp.alias_(column("roc_auc", "a"), ident("roc_auc")),
        )
        .from_(_sub(grouped, "m"))
        .join(_sub(auc, "a"), on=on, join_type="LEFT")
        .order_by(*(column(k, "m") for k in keys))
    )


def _auc(scored: exp.Query) -> exp.Query:
    """ROC AUC by ranks (Mann-Whitney): (sum of positive ranks - P(P+1)/2) / (P*N);
    ties get their average rank, as in the usual definition."""
    partition = [column(WINDOW), column(VERSION)]
    probability = column(PROBABILITY)
    rank = exp.Window(
        this=exp.Rank(),
        partition_by=[c.copy() for c in partition],
        order=exp.Order(expressions=[exp.Ordered(this=probability.copy())]),
    )
    ties = exp.Window(
        this=exp.Count(this=exp.Star()),
        partition_by=[*(c.copy() for c in partition), probability.copy()],
    )
    average_rank = exp.Add(
        this=_double(rank),
        expression=exp.Div(
            this=_double(exp.Sub(this=ties, expression=exp.Literal.number(1))),
            expression=exp.Literal.number(2),
        ),
    )
    is_positive = exp.Case(
        ifs=[exp.If(this=_positive(column(LABEL)), true=exp.Literal.number(1))],
        default=exp.Literal.number(0),
    )
    ranked = (
        exp.select(
            *(c.copy() for c in partition),
            exp.alias_(is_positive, ident("y")),
            exp.alias_(average_rank, ident("rank")),
        )
        .from_(_sub(scored, "s"))
        .where(
            exp.and_(
                exp.Not(this=exp.Is(this=column(LABEL), expression=exp.Null())),
                exp.Not(this=exp.Is(this=probability.copy(), expression=exp.Null())),
            )
        )
    )
    positives = _double(exp.Sum(this=column("y")))
    negatives = exp.Sub(this=_double(exp.Count(this=exp.Star())), expression=positives.copy())
    positive_ranks = exp.Sum(this=exp.Mul(this=column("y"), expression=column("rank")))
    pairs = exp.Div(
        this=exp.Mul(
            this=positives.copy(),
            expression=exp.Paren(
                this=exp.Add(this=positives.copy(), expression=exp.Literal.number(1))
            ),
        ),
        expression=exp.Literal.number(2),
    )
    auc = _ratio(
        exp.Sub(this=positive_ranks, expression=pairs),
        exp.Mul(this=positives.copy(), expression=exp.Paren(this=negatives)),
    )
    return (
        exp.select(*(c.copy() for c in partition), exp.alias_(auc, ident("roc_auc")))
        .from_(_sub(ranked, "ranked"))
        .group_by(*(c.copy() for c in partition))
    )


def _grouped(scored: exp.Query, metrics: list[exp.Expr]) -> exp.Select:
    keys = [column(WINDOW), column(VERSION)]
    return (
        exp.select(
            *keys,
            exp.alias_(exp.Count(this=exp.Star()), ident("count")),
            exp.alias_(exp.Count(this=column(LABEL)), ident("labelled")),
            *metrics,
        )
        .from_(_sub(scored, "s"))
        .group_by(*(k.copy() for k in keys))
        .order_by(*(k.copy() for k in keys))
    )


# --- drift ----------------------------------------------------------------------


def decile_edges_query(training: exp.Expr, columns: Sequence[str]) -> exp.Query:
    """One row: for each column, the 9 upper bounds of its first nine deciles
    (NTILE(10) over the non-NULL values; the largest value of each tile)."""
    tiles = exp.select(
        *(
            exp.alias_(
                exp.Case(
                    ifs=[
                        exp.If(this=exp.Is(this=column(c), expression=exp.Null()), true=exp.Null())
                    ],
                    default=exp.Window(
                        this=exp.Anonymous(this="NTILE", expressions=[exp.Literal.number(10)]),
                        partition_by=[exp.Is(this=column(c), expression=exp.Null())],
                        order=exp.Order(expressions=[exp.Ordered(this=column(c))]),
                    ),
                ),
                ident(f"tile{i}"),
            )
            for i, c in enumerate(columns)
        ),
        *(exp.alias_(_double(column(c)), ident(f"value{i}")) for i, c in enumerate(columns)),
    ).from_(_sub_relation(training, "t"))
    edges = [
        exp.alias_(
            exp.Max(
                this=exp.Case(
                    ifs=[
                        exp.If(
                            this=exp.EQ(this=column(f"tile{i}"), expression=exp.Literal.number(d)),
                            true=column(f"value{i}"),
                        )
                    ]
                )
            ),
            ident(f"edge{i}_{d}"),
        )
        for i in range(len(columns))
        for d in range(1, 10)
    ]
    return exp.select(*edges).from_(_sub(tiles, "d"))


def drift_query(scored: exp.Query, training: exp.Expr, columns: Sequence[DriftColumn]) -> exp.Query:
    """Rows (feature, window, version, bin, training_share, serving_share, psi): each
    bin seen in the training data or in the window, psi repeated on each row."""
    train = _union(
        exp.select(
            exp.alias_(exp.Literal.string(c.name), ident("feature")), _bin(c, c.training)
        ).from_(_sub_relation(training, "t"))
        for c in columns
    )
    serve = _union(
        exp.select(
            exp.alias_(exp.Literal.string(c.name), ident("feature")),
            column(WINDOW),
            column(VERSION),
            _bin(c, c.serving),
        ).from_(_sub(scored, "s"))
        for c in columns
    )
    train_shares = _shares(train, ["feature", "bin"], ["feature"])
    serve_shares = _shares(serve, ["feature", WINDOW, VERSION, "bin"], ["feature", WINDOW, VERSION])
    bins = exp.union(
        exp.select(column("feature"), column("bin")).from_(ident("train_shares")),
        exp.select(column("feature"), column("bin")).from_(ident("serve_shares")),
        distinct=True,
    )
    slots = (
        exp.select(
            column("feature", "w"), column(WINDOW, "w"), column(VERSION, "w"), column("bin", "b")
        )
        .distinct()
        .from_(exp.Table(this=ident("serve_shares"), alias=exp.TableAlias(this=ident("w"))))
        .join(
            _sub(bins, "b"),
            on=exp.EQ(this=column("feature", "w"), expression=column("feature", "b")),
        )
    )
    zero = exp.Literal.number(0)
    p = exp.Coalesce(this=column("share", "t"), expressions=[zero.copy()])
    q = exp.Coalesce(this=column("share", "v"), expressions=[zero.copy()])
    joined = (
        exp.select(
            column("feature", "k"),
            column(WINDOW, "k"),
            column(VERSION, "k"),
            column("bin", "k"),
            exp.alias_(p, ident("training_share")),
            exp.alias_(q, ident("serving_share")),
        )
        .from_(_sub(slots, "k"))
        .join(
            exp.Table(this=ident("train_shares"), alias=exp.TableAlias(this=ident("t"))),
            on=_same(["feature", "bin"], "k", "t"),
            join_type="LEFT",
        )
        .join(
            exp.Table(this=ident("serve_shares"), alias=exp.TableAlias(this=ident("v"))),
            on=_same(["feature", WINDOW, VERSION, "bin"], "k", "v"),
            join_type="LEFT",
        )
    )
    floor = exp.Literal.number(PSI_FLOOR)
    pf = exp.Greatest(this=column("training_share"), expressions=[floor.copy()])
    qf = exp.Greatest(this=column("serving_share"), expressions=[floor.copy()])
    term = exp.Mul(
        this=exp.Paren(this=exp.Sub(this=qf.copy(), expression=pf.copy())),
        expression=exp.Ln(this=exp.Div(this=qf, expression=pf)),
    )
    psi = exp.Window(
        this=exp.Sum(this=term),
        partition_by=[column("feature"), column(WINDOW), column(VERSION)],
    )
    keys = ["feature", WINDOW, VERSION, "bin"]
    return (
        exp.select(*(column(k) for k in keys), column("training_share"), column("serving_share"))
        .select(exp.alias_(psi, ident("psi")))
        .from_(_sub(joined, "j"))
        .order_by(*(column(k) for k in keys))
        .with_(ident("train_shares"), as_=train_shares)
        .with_(ident("serve_shares"), as_=serve_shares)
    )


def _bin(drift: DriftColumn, name: str) -> exp.Expr:
    """The bin label of a value: a decile ('d01'..'d10'), a category, or the class."""
    value = column(name)
    is_null = exp.Is(this=value.copy(), expression=exp.Null())
    null_bin = exp.If(this=is_null, true=exp.Literal.string(NULL_BIN))
    if drift.binary:
        label: exp.Expr = exp.Case(ifs=[null_bin], default=_class(value, "positive", "negative"))
    elif drift.edges is None:
        label = exp.Case(ifs=[null_bin], default=_text(value))
    else:
        edges = sorted(set(drift.edges))
        ifs = [null_bin] + [
            exp.If(
                this=exp.LTE(this=_double(value.copy()), expression=_number(edge)),
                true=exp.Literal.string(f"d{i + 1:02d}"),
            )
            for i, edge in enumerate(edges)
        ]
        label = exp.Case(ifs=ifs, default=exp.Literal.string(f"d{len(edges) + 1:02d}"))
    return exp.alias_(label, ident("bin"))


def _shares(rows: exp.Query, keys: list[str], total_by: list[str]) -> exp.Query:
    count = _double(exp.Count(this=exp.Star()))
    total = exp.Window(this=exp.Sum(this=count.copy()), partition_by=[column(k) for k in total_by])
    return (
        exp.select(
            *(column(k) for k in keys),
            exp.alias_(exp.Div(this=count, expression=total), ident("share")),
        )
        .from_(_sub(rows, "r"))
        .group_by(*(column(k) for k in keys))
    )


# --- helpers --------------------------------------------------------------------


def _class(value: exp.Expr, positive: str = "true", negative: str = "false") -> exp.Expr:
    """A label or prediction as its class: `positive`/`negative` for the two classes of
    a boolean target however written (true/1/yes, false/0/no), else its own text."""
    lowered = exp.Lower(this=_text(value))
    return exp.Case(
        ifs=[
            exp.If(this=_positive(value), true=exp.Literal.string(positive)),
            exp.If(
                this=exp.In(
                    this=lowered, expressions=[exp.Literal.string(t) for t in NEGATIVE_TEXT]
                ),
                true=exp.Literal.string(negative),
            ),
        ],
        default=_text(value.copy()),
    )


def _positive(value: exp.Expr) -> exp.Expr:
    """True for the positive class: true, 1 (any type; compared as lower-case text)."""
    return exp.In(
        this=exp.Lower(this=_text(value)),
        expressions=[exp.Literal.string(t) for t in POSITIVE_TEXT],
    )


def _labelled_only(value: exp.Expr) -> exp.Expr:
    """`value` where the row has a label, else NULL (aggregates skip it)."""
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=column(LABEL), expression=exp.Null()), true=exp.Null())],
        default=value,
    )


def _ratio(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """numerator / denominator, NULL when the denominator is 0."""
    return exp.Div(
        this=_double(numerator),
        expression=exp.Nullif(this=denominator, expression=exp.Literal.number(0)),
    )


def _double(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=sql_type("DOUBLE"))


def _text(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=sql_type("TEXT"))


def _number(value: float) -> exp.Expr:
    return exp.Cast(this=exp.Literal.number(repr(float(value))), to=sql_type("DOUBLE"))


def _sub(query: exp.Query, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=ident(alias)))


def _sub_relation(relation: exp.Expr, alias: str) -> exp.Expr:
    if isinstance(relation, exp.Table):
        return exp.Table(
            this=relation.this.copy(),
            db=relation.args.get("db"),
            alias=exp.TableAlias(this=ident(alias)),
        )
    assert isinstance(relation, exp.Query)
    return _sub(relation, alias)


def _union(queries: Iterable[exp.Query]) -> exp.Query:
    parts = list(queries)
    result = parts[0]
    for part in parts[1:]:
        result = exp.union(result, part, distinct=False)
    return result


def _same(keys: Sequence[str], left: str, right: str) -> exp.Expr:
    return exp.and_(*(exp.EQ(this=column(k, left), expression=column(k, right)) for k in keys))
