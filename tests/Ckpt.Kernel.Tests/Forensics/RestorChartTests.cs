using System.Text.Json.Nodes;
using Ckpt.Charts;
using Ckpt.Forensics.Restor;

namespace Ckpt.Tests.Forensics;

public class RestorChartTests
{
    static readonly RestorFact[] Facts =
    [
        new("f1", "capital of A is", ["Paris"], ["Rome"]),
        new("f2", "colour of B is", ["blue"], ["green"]),
    ];

    static JsonObject Render(RestorReport report) => JsonNode.Parse(ChartRenderer.Render("restor", RestorJson.From(report).ToJsonString()))!.AsObject();

    [Fact]
    public void The_grouped_bars_carry_each_models_accuracies_and_each_unlearned_models_recovery_and_forgetting()
    {
        var report = RestorScoring.Score(Facts,
        [
            new("clean", "clean", ["Paris", "blue"]),
            new("corrupted", "corrupted", ["Rome", "green"]),
            new("npo", "unlearned", ["Paris", "green"]),
        ]);
        var rendered = Render(report);
        var charts = rendered["charts"]!.AsArray();
        Assert.Equal(["restor-accuracy", "restor-recovery"], charts.Select(c => c!["name"]!.GetValue<string>()));
        var bars = charts[0]!["figure"]!["data"]!.AsArray();
        Assert.Equal("group", charts[0]!["figure"]!["layout"]!["barmode"]!.GetValue<string>());
        Assert.Equal(["clean", "corrupted", "npo"], bars[0]!["x"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal([1.0, 0.0, 0.5], bars[0]!["y"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal([0.0, 1.0, 0.5], bars[1]!["y"]!.AsArray().Select(v => v!.GetValue<double>()));
        var measures = charts[1]!["figure"]!["data"]!.AsArray();
        Assert.Equal(0.5, measures[0]!["y"]![0]!.GetValue<double>());
        Assert.Equal(0.5, measures[1]!["y"]![0]!.GetValue<double>());
        var html = rendered["summaryHtml"]!.GetValue<string>();
        Assert.Contains("<td>npo</td><td>50.0%</td><td>50.0%</td><td>0.500</td><td>0.500</td><td>1 recovered, 1 not, 0 kept, 0 lost</td>", html);
        Assert.Contains("<td>f2</td><td>colour of B is</td><td>blue</td><td>green</td><td>✓ blue</td><td>✗ green</td><td>✗ green</td><td>notRecovered</td>", html);
    }

    [Fact]
    public void An_undefined_recovery_is_written_undefined_and_drawn_as_a_gap()
    {
        var report = RestorScoring.Score(Facts,
        [
            new("clean", "clean", ["Paris", "x"]),
            new("corrupted", "corrupted", ["Paris", "x"]),
            new("ga", "unlearned", ["x", "x"]),
        ]);
        var rendered = Render(report);
        Assert.Null(rendered["charts"]![1]!["figure"]!["data"]![0]!["y"]![0]);
        Assert.Contains("<td>undefined</td><td>undefined</td>", rendered["summaryHtml"]!.GetValue<string>());
    }

    [Fact]
    public void The_training_chart_draws_the_forget_loss_an_unlearning_run_logs()
    {
        var run = new JsonObject
        {
            ["recipe"] = "npo", ["totalSteps"] = 2, ["state"] = "finished",
            ["steps"] = new JsonArray(
                new JsonObject { ["step"] = 1, ["loss"] = 13.9, ["metrics"] = new JsonObject { ["forget_loss"] = 0.9 } },
                new JsonObject { ["step"] = 2, ["loss"] = 12.1, ["metrics"] = new JsonObject { ["forget_loss"] = 1.7 } }),
        };
        var data = JsonNode.Parse(ChartRenderer.Render("finetune", run.ToJsonString()))!["charts"]![0]!["figure"]!["data"]!.AsArray();
        Assert.Equal(["loss", "forget_loss"], data.Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal([0.9, 1.7], data[1]!["y"]!.AsArray().Select(v => v!.GetValue<double>()));
    }
}
