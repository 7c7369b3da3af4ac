namespace Ckpt.Charts;

/// <summary>
/// A fine-tuning run as one figure, redrawn as it runs: the loss per optimizer step (x fixed to the run's steps, so the
/// box does not jump between updates) and, for DPO, TRL's reward metrics below it (chosen, rejected and margin on the
/// left axis, accuracy on a 0-1 right axis); the held-out eval_loss, where the run evaluates, on the loss axis.
/// </summary>
static class TrainingCharts
{
    static readonly string[] Rewards = ["rewards/chosen", "rewards/rejected", "rewards/margins"];
    const string Accuracy = "rewards/accuracies";
    const string EvalLoss = "eval_loss";
    const string ForgetLoss = "forget_loss";

    public static (IReadOnlyList<Chart>, string) Build(JsonObject s)
    {
        var recipe = s["recipe"]?.GetValue<string>() ?? "sft";
        int total = s["totalSteps"]!.GetValue<int>();
        var state = s["state"]?.GetValue<string>() ?? "running";
        var steps = s["steps"]!.AsArray().Select(p => p!.AsObject()).ToList();
        var x = steps.Select(p => p["step"]!.GetValue<int>()).ToArray();
        double[] Series(string key) => steps.Select(p => p["metrics"]?[key]?.GetValue<double>() ?? double.NaN).ToArray();
        bool dpo = steps.Any(p => p["metrics"]?[Accuracy] is not null) || recipe == "dpo";

        var fig = new PlotlyFigure($"{recipe.ToUpperInvariant()} training loss", dpo ? 620 : 380);
        fig.Trace("scatter", ("mode", "lines+markers"), ("name", "loss"), ("x", x), ("y", steps.Select(p => p["loss"]!.GetValue<double>()).ToArray()),
            ("line", Obj(("color", Palette.Of(0)))), ("marker", Obj(("size", 4))),
            ("hovertemplate", "step %{x}<br>loss %{y:.5g}<extra></extra>"));
        var range = new[] { 0.0, Math.Max(1, total) + 0.5 };
        if (dpo)
        {
            foreach (var (key, i) in Rewards.Select((k, i) => (k, i)))
                fig.Trace("scatter", ("mode", "lines"), ("name", key), ("x", x), ("y", Nullable(Series(key))), ("xaxis", "x2"), ("yaxis", "y2"),
                    ("line", Obj(("color", Palette.Of(i + 1)))), ("hovertemplate", "step %{x}<br>" + key + " %{y:.5g}<extra></extra>"));
            fig.Trace("scatter", ("mode", "lines"), ("name", Accuracy), ("x", x), ("y", Nullable(Series(Accuracy))), ("xaxis", "x2"), ("yaxis", "y3"),
                ("line", Obj(("color", Palette.Of(4)), ("dash", "dot"))), ("hovertemplate", "step %{x}<br>accuracy %{y:.3f}<extra></extra>"));
            fig.Layout("xaxis", Obj(("domain", new[] { 0.0, 1.0 }), ("range", range), ("anchor", "y")))
                .Layout("yaxis", Obj(("domain", new[] { 0.55, 1.0 }), ("title", Obj(("text", "loss")))))
                .Layout("xaxis2", Obj(("range", range), ("anchor", "y2"), ("title", Obj(("text", "step")))))
                .Layout("yaxis2", Obj(("domain", new[] { 0.0, 0.42 }), ("anchor", "x2"), ("title", Obj(("text", "reward"))), ("zeroline", true)))
                .Layout("yaxis3", Obj(("overlaying", "y2"), ("side", "right"), ("anchor", "x2"), ("range", new[] { 0.0, 1.0 }), ("title", Obj(("text", "accuracy")))))
                .Layout("legend", Obj(("orientation", "h"), ("y", -0.15)));
        }
        else
            fig.Layout("xaxis", Obj(("range", range), ("title", Obj(("text", "step")))))
                .Layout("yaxis", Obj(("title", Obj(("text", "loss")))));

        // Held-out loss where the run evaluated (--eval-data), as points on the loss axis.
        var evaluated = steps.Where(p => p["metrics"]?[EvalLoss] is not null).ToList();
        if (evaluated.Count > 0)
            fig.Trace("scatter", ("mode", "lines+markers"), ("name", EvalLoss), ("x", evaluated.Select(p => p["step"]!.GetValue<int>()).ToArray()),
                ("y", evaluated.Select(p => p["metrics"]![EvalLoss]!.GetValue<double>()).ToArray()),
                ("line", Obj(("color", Palette.Of(5)), ("dash", "dash"))), ("marker", Obj(("size", 7), ("symbol", "diamond"))),
                ("hovertemplate", "step %{x}<br>eval loss %{y:.5g}<extra></extra>"));
        // Unlearning recipes (ga, kl, npo) log the forget set's own next-token loss, which rises as the model unlearns.
        if (steps.Any(p => p["metrics"]?[ForgetLoss] is not null))
            fig.Trace("scatter", ("mode", "lines"), ("name", ForgetLoss), ("x", x), ("y", Nullable(Series(ForgetLoss))),
                ("line", Obj(("color", Palette.Of(3)))), ("hovertemplate", "step %{x}<br>forget loss %{y:.5g}<extra></extra>"));
        var inv = CultureInfo.InvariantCulture;
        var last = steps.Count > 0 ? steps[^1] : null;
        var summary = last is null
            ? $"<p class=\"ckpt-finetune-state\">{Html.Escape(recipe.ToUpperInvariant())}: {Html.Escape(state)}.</p>"
            : $"<p class=\"ckpt-finetune-state\">{Html.Escape(recipe.ToUpperInvariant())}, {Html.Escape(state)}: step {last["step"]} of {total}, " +
              $"loss {last["loss"]!.GetValue<double>().ToString("G5", inv)}, {(last["tokensPerSecond"]?.GetValue<double>() ?? 0).ToString("F0", inv)} tokens/s.</p>";
        return ([fig.ToChart("finetune", "Fine-tuning")], summary);
    }

    static object?[] Nullable(double[] values) => values.Select(v => double.IsFinite(v) ? (object?)v : null).ToArray();
}
