using System.Text.Json;
using Ckpt.Resharding;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>
/// The `ckpt` CLI and the resharder on DeepSpeed checkpoints built from the documented layout (see
/// <see cref="DeepSpeedFixture"/>; DeepSpeed is not available here): nothing format-specific beyond the reader.
/// </summary>
[Trait("Category", "slow")]
public class DeepSpeedSurfaceTests
{
    [PythonTorchFact]
    public void Ckpt_inspect_json_describes_a_zero_3_checkpoint()
    {
        var dir = DeepSpeedFixture.Build("3", 4);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        var (code, stdout, stderr) = CliRunner.Run("inspect", dir, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal("deepspeed-zero", root.GetProperty("format").GetString());
        Assert.Equal("deepspeed", root.GetProperty("framework").GetString());
        Assert.Equal(4, root.GetProperty("worldSize").GetInt32());
        Assert.Equal(reference.Manifest.Tensors.Count, root.GetProperty("tensors").GetArrayLength());
        var embed = root.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "embed.weight");
        Assert.Equal([37L, 10], embed.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
        Assert.True(embed.GetProperty("fragments").GetInt32() >= 4);
    }

    [PythonTorchFact]
    public void Ckpt_convert_to_safetensors_writes_the_consolidated_zero_2_tensors()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        var output = TestPaths.TempDirectory("deepspeed-convert");
        var (code, _, stderr) = CliRunner.Run("convert", dir, "--to", "safetensors", "--out", output);
        Assert.True(code == 0, stderr);
        ReferenceParity.AssertSameTensors(Path.Combine(dir, "reference.pt"), output, "after conversion");
    }

    [PythonTorchFact]
    public void Ckpt_convert_to_safetensors_writes_the_universal_checkpoint_tensors()
    {
        var dir = DeepSpeedFixture.Build("ucp", 4);
        var output = TestPaths.TempDirectory("deepspeed-ucp-convert");
        var (code, _, stderr) = CliRunner.Run("convert", dir, "--to", "safetensors", "--out", output);
        Assert.True(code == 0, stderr);
        ReferenceParity.AssertSameTensors(Path.Combine(dir, "reference.pt"), output, "after conversion");
    }

    [PythonTorchFact]
    public void A_zero_3_checkpoint_reshards_to_two_tensor_parallel_ranks_reading_only_its_rows()
    {
        var dir = DeepSpeedFixture.Build("3", 4);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        using var rank1 = ckpt.ReadForRank(DTensorLayout.Sharded(2), 1, t => !t.Name.StartsWith("optimizer.", StringComparison.Ordinal));
        Assert.NotEmpty(rank1.Plan.Tensors);
        foreach (var planned in rank1.Plan.Tensors)
        {
            using var full = reference.Read(planned.Tensor.Name);
            Assert.True(Resharding.ReferenceSlices.Expected(full, planned.Shard).SequenceEqual(rank1[planned.Tensor.Name].Bytes.ToArray()),
                $"{planned.Tensor.Name} rank 1 of 2 differs");
        }
        Assert.Equal([18L, 10], rank1["embed.weight"].Shape); // torch.chunk: 19 + 18 rows
        Assert.True(rank1.BytesRead < ckpt.Manifest.Tensors.Where(t => !t.Name.StartsWith("optimizer.", StringComparison.Ordinal)).Sum(t => t.ByteCount));
    }

    [PythonTorchFact]
    public void Resharder_rewrites_a_zero_2_checkpoint_as_dcp_over_3_ranks_holding_the_same_tensors()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        var output = TestPaths.TempDirectory("deepspeed-reshard");
        using (var source = Checkpoint.Open(dir))
        {
            var result = Resharder.Reshard(source, new ReshardOptions(DTensorLayout.Sharded(3), output));
            Assert.Equal(3, result.Ranks.Count);
        }
        ReferenceParity.AssertSameTensors(Path.Combine(dir, "reference.pt"), output, "after resharding");
    }
}
