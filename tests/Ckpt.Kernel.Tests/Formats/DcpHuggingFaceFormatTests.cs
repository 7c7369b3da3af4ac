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

    const string Rank1 = "shard-00001-model-00001-of-00001.safetensors", Rank2 = "shard-00002-model-00001-of-00001.safetensors";

    [Fact]
    public void A_missing_first_rank_is_named_as_the_missing_file()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-hole");
        File.Copy(Path.Combine(Fixture("sharded"), Rank2), Path.Combine(dir, Rank2));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("shard-00001-model-*.safetensors", e.File);
        Assert.Equal("ranks 2", e.Found);
    }

    [Fact]
    public void A_missing_middle_rank_is_refused_even_where_the_others_tile_every_tensor_exit_2()
    {
        // Ranks 1 and 3 of three, where rank 2 held no shard of the tensors the others hold (only replicated ones, say):
        // the tensors tile, so only the numbering proves the save incomplete.
        var dir = TestPaths.TempDirectory("dcp-hf-middle");
        foreach (var f in new[] { Rank1, Rank2 }) File.Copy(Path.Combine(Fixture("sharded"), f), Path.Combine(dir, f));
        File.Move(Path.Combine(dir, Rank2), Path.Combine(dir, "shard-00003-model-00001-of-00001.safetensors"));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        var cli = CliRunner.Run("inspect", dir);

        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("shard-00002-model-*.safetensors", e.File);
        Assert.Equal(("shard files of ranks 1-3", "ranks 1, 3"), (e.Expected, e.Found));
        Assert.Equal(2, cli.Code);
        Assert.Contains("shard-00002-model-*.safetensors", cli.Err);
    }

    /// <summary>
    /// The documented limit (formats.md): torch records no global shape and no world size, so the first rank alone
    /// is indistinguishable from a one-rank save of the smaller tensors. This pins what is read, not what is wanted.
    /// </summary>
    [Fact]
    public void A_missing_last_rank_reads_as_the_smaller_save_torch_itself_would_load()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-last");
        File.Copy(Path.Combine(Fixture("sharded"), Rank1), Path.Combine(dir, Rank1));

        using var ckpt = Checkpoint.Open(dir);

        Assert.Equal([3L, 4], ckpt.GetEntry("model.embed.weight").Shape);
        Assert.Equal([4L, 3], ckpt.GetEntry("model.proj.weight").Shape);
    }

    [Fact]
    public void A_whole_tensor_file_its_index_names_but_missing_is_refused_naming_it_exit_2()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-full-missing");
        foreach (var f in Directory.EnumerateFiles(Fixture("full")))
            if (!f.EndsWith("model-00002-of-00002.safetensors", StringComparison.Ordinal)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        var cli = CliRunner.Run("convert", dir, "--out", Path.Combine(TestPaths.TempDirectory("dcp-hf-full-out"), "out"));

        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Equal(2, cli.Code);
        Assert.Contains("model-00002-of-00002.safetensors", cli.Err);
    }

    [Fact]
    public void A_tensor_the_index_places_in_a_file_that_does_not_hold_it_is_refused()
    {
        var dir = TestPaths.TempDirectory("dcp-hf-full-misplaced");
        foreach (var f in Directory.EnumerateFiles(Fixture("full"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var indexPath = Path.Combine(dir, "model.safetensors.index.json");
        var index = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(indexPath))!;
        var map = index["weight_map"].Deserialize<Dictionary<string, string>>()!;
        var (name, file) = map.OrderBy(kv => kv.Key, StringComparer.Ordinal).First();
        map[name] = map.Values.First(v => v != file);
        File.WriteAllText(indexPath, JsonSerializer.Serialize(new { metadata = index["metadata"], weight_map = map }));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.TensorNotFound, e.Reason);
        Assert.Equal(name, e.Tensor);
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
