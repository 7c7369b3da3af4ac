using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>
/// LCSC on the real training trajectory: the built-in eval loss against the losses PyTorch computed
/// (`reference_eval.json`), the search against the references it must beat, and how checkpoints are named.
/// </summary>
public class CombinationSearchTests
{
    static string Folder => TestPaths.Fixture("trajectory-llama-micro");
    static string Batch => Path.Combine(Folder, "eval_batch.safetensors");

    static JsonElement Reference() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "reference_eval.json"))).RootElement;

    [Trait("Category", "slow")]
    [Fact]
    public void The_built_in_eval_loss_reproduces_every_checkpoints_reference_loss_within_1e_4()
    {
        var reference = Reference();
        foreach (var entry in reference.GetProperty("per_checkpoint_eval_loss").EnumerateObject())
        {
            using var loss = new CombinationEvalLoss([Path.Combine(Folder, entry.Name)], Batch);
            Assert.Equal(entry.Value.GetDouble(), loss.Evaluate([1.0]), 1e-4);
        }
        var last4 = new[] { 325, 350, 375, 400 }.Select(Step).ToArray();
        using var uniform = new CombinationEvalLoss(last4, Batch);
        Assert.Equal(reference.GetProperty("uniform_last_4").GetDouble(), uniform.Evaluate([0.25, 0.25, 0.25, 0.25]), 1e-4);
    }

    /// <summary>Slow (200 evaluations of the micro LLaMA, about 30 s): `--fast` keeps the search, its log and its written
    /// combination in the 80-evaluation mse test below and the eval-loss metric in `ckpt lcsc --json` (JsonKeysTests).</summary>
    [Trait("Category", "slow")]
    [Fact]
    public void Lcsc_over_the_last_four_checkpoints_beats_every_reference_within_200_evaluations()
    {
        var reference = Reference();
        using var dir = new TempDirectory();
        var result = CombinationSearch.Run(new CombinationSearchRequest
        {
            Checkpoints = Folder, Last = 4, Eval = "eval-loss:" + Batch, Budget = 200, Seed = 0, OutputDirectory = dir.Path,
        });

        Assert.Equal(200, result.Search.Evaluations);
        Assert.Equal(1.0, result.Search.Coefficients.Sum(), 9);
        var references = new[] { reference.GetProperty("per_checkpoint_eval_loss").GetProperty("step-0400.safetensors").GetDouble(),
            reference.GetProperty("uniform_last_2").GetDouble(), reference.GetProperty("uniform_last_4").GetDouble(),
            reference.GetProperty("uniform_last_8").GetDouble(), reference.GetProperty("ema_half_weights").GetDouble() };
        Assert.All(references, r => Assert.True(result.Search.Metric < r, $"LCSC {result.Search.Metric} vs reference {r}"));
        // The reported best is what the metric gives for the reported coefficients.
        using var loss = new CombinationEvalLoss(result.Checkpoints, Batch);
        Assert.Equal(result.Search.Metric, loss.Evaluate(result.Search.Coefficients), 1e-6);
        // The written combination (its own config.json beside it) is that model.
        using var written = new CombinationEvalLoss([dir.Path], Batch);
        Assert.Equal(result.Search.Metric, written.Evaluate([1.0]), 1e-5);
    }

    [Fact]
    public void A_folder_names_its_checkpoints_in_order_and_leaves_out_the_eval_batch()
    {
        var all = CheckpointSet.Resolve(Folder);
        Assert.Equal(16, all.Count);
        Assert.Equal(Enumerable.Range(1, 16).Select(i => Step(25 * i)), all.Select(Path.GetFullPath));
        Assert.Equal([Step(375), Step(400)], CheckpointSet.Resolve(Folder, last: 2).Select(Path.GetFullPath));
        Assert.Equal([Step(300), Step(325), Step(350), Step(375)], CheckpointSet.Resolve(Path.Combine(Folder, "step-03*.safetensors")).Select(Path.GetFullPath));
        Assert.Equal([Step(100), Step(50)], CheckpointSet.Resolve(Step(100) + "," + Step(50)));
    }

    [Fact]
    public void A_missing_checkpoint_in_a_list_is_named()
    {
        var missing = Path.Combine(Folder, "step-9999.safetensors");
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointSet.Resolve(Step(100) + "," + missing));
        Assert.Contains("step-9999.safetensors", e.Message);
    }

    [Fact]
    public void The_mse_metric_is_zero_at_a_checkpoint_and_the_written_combination_is_the_weighted_sum()
    {
        using var dir = new TempDirectory();
        var inputs = new[] { Step(350), Step(375), Step(400) };
        using (var mse = new CombinationDistance(inputs, Step(375)))
        {
            Assert.Equal(0, mse.Evaluate([0, 1, 0]));
            Assert.True(mse.Evaluate([0.5, 0, 0.5]) > 0);
        }
        var result = CombinationSearch.Run(new CombinationSearchRequest
        {
            Checkpoints = string.Join(",", inputs), Eval = "mse:" + Step(375), Budget = 80, Seed = 1, OutputDirectory = dir.Path,
        });
        Assert.True(File.Exists(Path.Combine(dir.Path, "config.json")));
        var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, CombinationSearch.LogFileName))).RootElement;
        Assert.Equal(80, log.GetProperty("evaluations").GetInt32());
        Assert.Equal(80, log.GetProperty("history").GetArrayLength());
        var a = result.Search.Coefficients;
        var f = inputs.Select(Floats).ToArray();
        using var written = Checkpoint.Open(dir.Path);
        foreach (var name in f[0].Keys)
        {
            using var t = written.Read(name);
            var got = t.ToFloats();
            for (int i = 0; i < got.Length; i++)
            {
                double expected = a[0] * f[0][name][i] + a[1] * f[1][name][i] + a[2] * f[2][name][i];
                Assert.True(Math.Abs(got[i] - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"{name}[{i}]: {got[i]} vs {expected}");
            }
        }
    }

    sealed class CancelAfter(int generations, CancellationTokenSource source) : IProgress<LcscGeneration>
    {
        public int Seen;
        public void Report(LcscGeneration value) { if (++Seen == generations) source.Cancel(); }
    }

    [Fact]
    public void A_cancelled_search_stops_at_the_next_evaluation_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAfter(2, cts);
        var request = new CombinationSearchRequest
        {
            Checkpoints = Step(375) + "," + Step(400), Eval = "mse:" + Step(200), Budget = 100_000, OutputDirectory = Path.Combine(dir.Path, "out"),
        };
        Assert.ThrowsAny<OperationCanceledException>(() => CombinationSearch.Run(request, progress, cts.Token));
        Assert.Equal(2, progress.Seen);
        Assert.False(Directory.Exists(request.OutputDirectory));
    }
}
