using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>
/// No Megatron-Core (nor a torch 2.x DCP) is installed here, so the checkpoints are built at test time from the
/// documented torch_dist layout with Debian's torch 1.13 (tests/python/make_megatron_torch_dist.py): TP = 2 chunks of
/// layer-stacked tensors ([4, ...], one chunk per layer and rank, SwiGLU fc1 as gate and up chunks, one chunk that
/// spans every layer), metadata.json, common.pt, and reference.pt with every tensor under its per-layer name.
/// </summary>
[Trait("Category", "slow")]
public class MegatronTorchDistFormatTests : IClassFixture<MegatronTorchDistFormatTests.Built>
{
    public sealed class Built
    {
        readonly Lazy<string> _dir = new(() => Build());
        public string Dir => _dir.Value;
    }

    readonly Built _built;
    public MegatronTorchDistFormatTests(Built built) => _built = built;

    internal static string Build(params string[] options)
    {
        var dir = TestPaths.TempDirectory("megatron-torch-dist");
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_megatron_torch_dist.py");
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), [dir, .. options]);
        Assert.True(code == 0, stdout + stderr);
        return dir;
    }

    /// <summary>A writable copy of the built checkpoint without reference.pt.</summary>
    string Copy()
    {
        var dir = TestPaths.TempDirectory("megatron-torch-dist-copy");
        foreach (var f in Directory.EnumerateFiles(_built.Dir, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(_built.Dir, f);
            if (rel == "reference.pt") continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, rel))!);
            File.Copy(f, Path.Combine(dir, rel));
        }
        return dir;
    }

    [PythonTorchFact]
    public void Every_per_layer_tensor_equals_its_source_bit_for_bit()
    {
        using var ckpt = Checkpoint.Open(_built.Dir);
        using var reference = Checkpoint.Open(Path.Combine(_built.Dir, "reference.pt"));
        ReferenceParity.AssertDescribed(ckpt, "megatron-torch_dist", 2, "megatron");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from its source");
        Assert.Equal("4", ckpt.Manifest.Metadata["megatron.num_layers"]);
        Assert.Equal("9", ckpt.Manifest.Metadata["megatron.layer_stacks"]);
    }

    [PythonTorchFact]
    public void A_chunk_spanning_every_layer_is_cut_into_layers_by_storage_offset()
    {
        using var ckpt = Checkpoint.Open(_built.Dir);
        var norms = Enumerable.Range(0, 4).Select(i => Assert.Single(ckpt.GetEntry($"decoder.layers.{i}.mlp.linear_fc1.layer_norm_weight").Fragments)).ToArray();
        Assert.Single(norms.Select(f => (f.Payload.File, f.Payload.Offset)).Distinct());
        Assert.Equal([0L, 64, 128, 192], norms.Select(f => f.StorageOffset));
    }

    [PythonTorchFact]
    public void Common_pt_entries_and_sharded_objects_are_objects()
    {
        using var ckpt = Checkpoint.Open(_built.Dir);
        var objects = ckpt.Manifest.Objects.ToDictionary(o => o.Name);
        Assert.Equal(10L, objects["iteration"].Value);
        Assert.Equal("iter_0000010/common.pt", objects["args"].File);
        Assert.Contains("rng_state/shard_0.1_1.2", objects.Keys);
        Assert.Equal(0.0003, Assert.IsType<double>(objects["optimizer.param_groups.0.lr"].Value), 12);
    }

    [PythonTorchFact]
    public void The_probe_prefers_torch_dist_over_plain_dcp_for_the_iteration_folder_and_its_metadata_file()
    {
        using var folder = Checkpoint.Open(Path.Combine(_built.Dir, "iter_0000010"));
        Assert.Equal("megatron-torch_dist", folder.Manifest.Format);
        Assert.NotNull(folder.Manifest.Find("decoder.layers.3.self_attention.linear_qkv.weight"));
        using var file = Checkpoint.Open(Path.Combine(_built.Dir, "iter_0000010", ".metadata"));
        Assert.Equal("megatron-torch_dist", file.Manifest.Format);
        using var plain = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank"));
        Assert.Equal("dcp", plain.Manifest.Format);
    }

    [PythonTorchFact]
    public void Reading_one_layer_reads_at_most_5_percent_more_bytes_than_it_needs()
    {
        using var ckpt = Checkpoint.Open(_built.Dir);
        var layer = ckpt.Manifest.Tensors.Where(t => t.Name.Contains("decoder.layers.2.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(9, layer.Length);
        ReferenceParity.AssertReadsAtMost(ckpt, layer, 1.05);
    }

    [PythonTorchFact]
    public void Inspect_and_convert_through_the_cli_give_the_per_layer_tensors()
    {
        var (code, stdout, stderr) = CliRunner.Run("inspect", _built.Dir, "--json");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("megatron-torch_dist", doc.RootElement.GetProperty("format").GetString());
            Assert.Contains(doc.RootElement.GetProperty("tensors").EnumerateArray(),
                t => t.GetProperty("name").GetString() == "decoder.layers.3.mlp.linear_fc2.weight");
        }
        var outDir = TestPaths.TempDirectory("megatron-torch-dist-convert");
        (code, _, stderr) = CliRunner.Run("convert", _built.Dir, "--to", "safetensors", "--out", outDir);
        Assert.True(code == 0, stderr);
        AssertSameTensors(outDir);
    }

    [PythonTorchFact]
    public void Reshard_to_tensor_parallel_4_writes_a_dcp_that_reads_back_as_the_source()
    {
        var outDir = TestPaths.TempDirectory("megatron-torch-dist-reshard");
        var (code, stdout, stderr) = CliRunner.Run("reshard", _built.Dir, "--world-size", "4", "--layout", "tp", "--gated", "--out", outDir, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(4, doc.RootElement.GetProperty("ranks").GetArrayLength());
        AssertSameTensors(outDir);
    }

    void AssertSameTensors(string dir) =>
        ReferenceParity.AssertSameTensors(Path.Combine(_built.Dir, "reference.pt"), dir, "after the round trip");

    [PythonTorchFact]
    public void A_missing_metadata_json_is_refused_naming_the_file()
    {
        var dir = Copy();
        File.Delete(Path.Combine(dir, "iter_0000010", "metadata.json"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("iter_0000010/metadata.json", e.File);
    }

    [PythonTorchFact]
    public void A_metadata_json_naming_another_backend_is_refused_with_expected_and_found()
    {
        var dir = Copy();
        File.WriteAllText(Path.Combine(dir, "iter_0000010", "metadata.json"), "{\"sharded_backend\": \"zarr\", \"sharded_backend_version\": 1}");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.Unsupported, e.Reason);
        Assert.Equal("iter_0000010/metadata.json", e.File);
        Assert.Equal(("torch_dist", "zarr"), (e.Expected, e.Found));
    }

    [PythonTorchFact]
    public void Without_common_pt_the_layer_stacks_are_still_split_by_their_own_length()
    {
        var dir = Copy();
        File.Delete(Path.Combine(dir, "iter_0000010", "common.pt"));
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(_built.Dir, "reference.pt"));
        Assert.Equal("absent", ckpt.Manifest.Metadata["megatron.common"]);
        Assert.DoesNotContain(ckpt.Manifest.Objects, o => o.Name == "iteration");
        using var expected = reference.Read("decoder.layers.3.mlp.linear_fc1.weight");
        using var actual = ckpt.Read("decoder.layers.3.mlp.linear_fc1.weight");
        Assert.True(expected.Bytes.SequenceEqual(actual.Bytes));
    }

    [PythonTorchFact]
    public void A_stacked_axis_disagreeing_with_the_number_of_layers_names_the_tensor()
    {
        var dir = Build("--args-num-layers", "5");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.InvalidShape, e.Reason);
        Assert.Equal("iter_0000010/.metadata", e.File);
        Assert.StartsWith("decoder.layers.", e.Tensor);
        Assert.Equal("5 layers", e.Expected);
        Assert.StartsWith("4 layers", e.Found);
    }

    [PythonTorchFact]
    public void Every_mutation_of_the_torch_dist_files_loads_or_is_refused_with_one_typed_error()
    {
        var results = Fuzzing.NestedFolderCampaign.Run(_built.Dir,
            ["iter_0000010/.metadata", "iter_0000010/__1_0.distcp", "iter_0000010/common.pt", "iter_0000010/metadata.json"], 600, seed: 20261127);
        Assert.Equal(Fuzzing.FuzzOutcome.Loaded, results[0].Outcome);
        var finding = Fuzzing.NestedFolderCampaign.FirstFinding(results);
        Assert.True(finding is null, finding);
        Assert.True(results.Count(r => r.Outcome == Fuzzing.FuzzOutcome.Refused) > 30, "the mutations barely reached the parser");
    }
}
