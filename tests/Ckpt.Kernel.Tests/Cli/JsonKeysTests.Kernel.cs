using System.Text.Json;
using System.Text.Json.Nodes;
using Ckpt.Benchmarks;
using Ckpt.Cluster;
using Ckpt.Conversion;
using Ckpt.Manifest;
using Ckpt.Models;
using Ckpt.Outputs;
using Ckpt.Resharding;
using Ckpt.Training;
using Ckpt.Verbs;

namespace Ckpt.Tests.Cli;

/// <summary>
/// The `--json` documents are built in Kernel, beside their results: each is built here without the CLI and its keys
/// must equal, in order, the `Keys` line of docs/json.md (the CLI only writes what these return).
/// </summary>
public partial class JsonKeysTests
{
    static string Dcp => TestPaths.Fixture("dcp-fsdp2-4rank");

    /// <summary>Verb heading in docs/json.md and which of its `Keys` lines the Kernel document has.</summary>
    public static TheoryData<string, int> KernelDocuments => new()
    {
        { "ckpt inspect", 0 },
        { "ckpt convert", 0 },
        { "ckpt reshard", 0 },
        { "ckpt reshard", 1 },
        { "ckpt bench load", 0 },
        { "ckpt bench forward", 0 },
        { "ckpt generate", 0 },
        { "ckpt finalize", 0 },
        { "ckpt finetune", 0 },
        { "ckpt finetune", 1 },
    };

    [Theory]
    [MemberData(nameof(KernelDocuments))]
    public void A_kernel_document_has_the_keys_docs_json_md_lists(string verb, int keysLine)
    {
        var document = KernelDocument(verb, keysLine, TestPaths.TempDirectory("json-keys-kernel-" + verb.Replace(' ', '-')));
        Assert.Equal(Documented(verb)[keysLine], document.Select(p => p.Key).ToArray());
    }

    [Fact]
    public void A_reshard_rank_entry_has_its_keys_in_order_written_or_planned()
    {
        string[] planned = ["rank", "tensors", "bytesNeeded", "bytesRead", "reads", "seconds"];
        string[] written = ["rank", "tensors", "bytesNeeded", "bytesRead", "reads", "chunksWritten", "chunkBytesWritten", "seconds"];
        var dir = TestPaths.TempDirectory("json-keys-kernel-reshard-ranks");
        foreach (var (keysLine, keys) in new[] { (0, written), (1, planned) })
        {
            var ranks = KernelDocument("ckpt reshard", keysLine, dir)["ranks"]!.AsArray();
            Assert.Equal(2, ranks.Count);
            Assert.All(ranks, r => Assert.Equal(keys, r!.AsObject().Select(p => p.Key).ToArray()));
        }
    }

    static JsonObject KernelDocument(string verb, int keysLine, string dir)
    {
        switch (verb)
        {
            case "ckpt inspect":
            {
                using var ckpt = Checkpoint.Open(Tiny);
                return ManifestJson.ToJson(ckpt);
            }
            case "ckpt convert":
            {
                using var ckpt = Checkpoint.Open(Tiny);
                return CheckpointConverter.Convert(ckpt, new ConvertOptions(TargetFormat.Torch, Path.Combine(dir, "out"), Overwrite: true)).ToJson();
            }
            case "ckpt reshard":
            {
                var layout = new LayoutRequest(WorldSize: 2).Resolve();
                using var ckpt = Checkpoint.Open(Dcp);
                return keysLine == 0
                    ? ReshardJson.Written(Resharder.Reshard(ckpt, new ReshardOptions(layout, Path.Combine(dir, "out"), Overwrite: true)))
                    : ReshardJson.Planned(layout, ReshardVerb.Plan(ckpt.Manifest, layout, []));
            }
            case "ckpt bench load":
            {
                using var ckpt = Checkpoint.Open(Tiny);
                return LoadBenchmark.Run(ckpt, parallelism: 1).ToJson();
            }
            case "ckpt bench forward":
                return ForwardBenchmark.Run(Tiny, batch: 1, sequence: 4, iterations: 1, device: null, dtype: null).ToJson();
            case "ckpt generate":
            {
                var done = Generation.Run(new GenerationRequest
                {
                    Model = Tiny,
                    InputIds = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors"),
                    MaxNewTokens = 2,
                });
                return JsonSerializer.SerializeToNode(done.RowJson(0), VerbJson.Line)!.AsObject();
            }
            case "ckpt finalize":
            {
                var parts = Path.Combine(dir, "parts");
                var layout = new LayoutRequest(WorldSize: 2).Resolve();
                using (var ckpt = Checkpoint.Open(Dcp))
                    foreach (var rank in new[] { 0, 1 })
                        Resharder.Reshard(ckpt, new ReshardOptions(layout, parts, Share: new WorkShare(rank, 2)));
                return FinalizeVerb.Finalize(parts, overwrite: false).ToJson();
            }
            case "ckpt finetune":
            {
                // A run's records as FineTuning.Run returns them; the CLI test runs a real one, this checks the Kernel side alone.
                var step = new TrainingProgress(1, 1, 1.0, 0.5, 2e-4, 0.25, 96, 800, TimeSpan.FromSeconds(1), new Dictionary<string, double>());
                var result = new FineTuningResult(Recipe.Sft, Path.Combine(dir, "out"), Path.Combine(dir, "out", "checkpoints"), 0, 1, 1, false, step,
                    800, 2, 0, 64, 640, null, null, [], TimeSpan.FromSeconds(1));
                return JsonSerializer.SerializeToNode(keysLine == 0 ? step.ToJson() : result.ToJson(), VerbJson.Line)!.AsObject();
            }
            default:
                throw new ArgumentException(verb);
        }
    }
}
