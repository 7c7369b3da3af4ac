using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>
/// torch DCP's Hugging Face layout, per rank and whole-tensor, against the reference tensors `make_dcp_hf.py` writes
/// (a reproduction of the layout from torch's source, not torch's own output: see tests/fixtures/README.md).
/// Tolerance: none; chunk bytes are compared bit for bit.
/// </summary>
public class DcpHuggingFaceFormatTests
{
    static string Fixture(string part) => TestPaths.Fixture("dcp-hf-2rank", part);
    static string Reference => Fixture("reference.safetensors");

    [Fact]
    public void Per_rank_files_open_as_the_global_tensors_torch_saved()
    {
        using var ckpt = Checkpoint.Open(Fixture("sharded"));

        ReferenceParity.AssertDescribed(ckpt, "dcp-hf", worldSize: 2, framework: "torch");
        Assert.Equal([6L, 4], ckpt.GetEntry("model.embed.weight").Shape);
        Assert.Equal(2, ckpt.GetEntry("model.proj.weight").Fragments.Count);
        using var reference = Checkpoint.Open(Reference);
        ReferenceParity.AssertSameTensors(reference, ckpt, "read from the per-rank files");
    }

    [Fact]
    public void Whole_tensor_files_with_their_index_open_as_the_same_tensors()
    {
        using var ckpt = Checkpoint.Open(Fixture("full"));

        ReferenceParity.AssertDescribed(ckpt, "dcp-hf", worldSize: 1);
        using var reference = Checkpoint.Open(Reference);
        ReferenceParity.AssertSameTensors(reference, ckpt, "read from the whole-tensor files");
    }

    [Fact]
    public void Per_rank_files_reshard_to_three_ranks_and_convert_to_safetensors_unchanged()
    {
        var resharded = TestPaths.TempDirectory("dcp-hf-reshard");
        var converted = Path.Combine(TestPaths.TempDirectory("dcp-hf-convert"), "out");

        var reshard = CliRunner.Run("reshard", Fixture("sharded"), "--world-size", "3", "--out", resharded);
        var convert = CliRunner.Run("convert", Fixture("sharded"), "--out", converted);

        Assert.True(reshard.Code == 0, reshard.Err);
        Assert.True(convert.Code == 0, convert.Err);
        ReferenceParity.AssertSameTensors(Reference, resharded, "after resharding to 3 ranks");
        ReferenceParity.AssertSameTensors(Reference, converted, "after converting to safetensors");
    }

    [PythonTorchFact]
    public void The_committed_fixture_is_what_the_script_writes()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-script");
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_dcp_hf.py"));

        var (code, _, err) = PythonTorch.Run(script, dir);

        Assert.True(code == 0, err);
        foreach (var file in Directory.EnumerateFiles(TestPaths.Fixture("dcp-hf-2rank"), "*", SearchOption.AllDirectories))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(dir, Path.GetRelativePath(TestPaths.Fixture("dcp-hf-2rank"), file))));
    }

    [Fact]
    public void Sharding_info_that_is_not_json_is_refused_as_invalid_metadata()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-bad-json");
        Write(Path.Combine(dir, "shard-00001-model-00001-of-00001.safetensors"), "{not json", ("w", "F32", 2));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
    }

    [Fact]
    public void Chunks_of_one_tensor_in_two_dtypes_are_refused_as_invalid_metadata()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-dtypes");
        Write(Path.Combine(dir, "shard-00001-model-00001-of-00001.safetensors"), Offsets(0), ("w", "F32", 2));
        Write(Path.Combine(dir, "shard-00002-model-00001-of-00001.safetensors"), Offsets(2), ("w", "F16", 2));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.Contains("disagree on its dtype", e.Message);
    }

    [Fact]
    public void A_missing_first_rank_leaves_a_hole_that_is_named()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-hole");
        var second = "shard-00002-model-00001-of-00001.safetensors";
        File.Copy(Path.Combine(Fixture("sharded"), second), Path.Combine(dir, second));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
    }

    static string Offsets(long at) => JsonSerializer.Serialize(new Dictionary<string, object> { ["w"] = new { saved_offsets = new[] { at } } });

    /// <summary>A one-dimensional safetensors file of zeros whose `__metadata__` carries <paramref name="sharding"/>.</summary>
    static void Write(string path, string sharding, (string Name, string DType, int Length) tensor)
    {
        int bytes = tensor.Length * (tensor.DType == "F32" ? 4 : 2);
        var header = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [tensor.Name] = new { dtype = tensor.DType, shape = new[] { tensor.Length }, data_offsets = new[] { 0, bytes } },
            ["__metadata__"] = new Dictionary<string, string> { ["DCP_SHARDING_INFO"] = sharding, ["DCP_VERSION"] = "1.0", ["format"] = "pt" },
        });
        var text = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + text.Length + bytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)text.Length);
        text.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
    }
}
