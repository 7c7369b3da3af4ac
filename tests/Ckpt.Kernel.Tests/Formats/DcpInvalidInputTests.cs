using Ckpt.Errors;
using Ckpt.Formats.Dcp;

namespace Ckpt.Tests.Formats;

/// <summary>Each invariant of <see cref="DcpFormat"/> refused with its own reason, on damaged copies of a real fixture.</summary>
public class DcpInvalidInputTests
{
    const string Fixture = "dcp-dtensor1d-4rank";

    [Theory]
    [InlineData("../__0_0.distcp")]
    [InlineData("sub/../../__0_0.distcp")]
    [InlineData("..\\__0_0.distcp")]
    public void A_relative_path_leaving_the_folder_is_refused(string path)
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.MutateDcpStorage(s => s.Info.RelativePath == "__0_0.distcp" ? s with { Info = s.Info with { RelativePath = path } } : s);
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, e.Reason);
        Assert.StartsWith($".metadata: tensor '{e.Tensor}': relative_path names '{path}', which resolves outside the checkpoint folder", e.Message);
        Assert.DoesNotContain(copy.Path, e.Message);
    }

    [Fact]
    public void A_data_file_linked_to_outside_the_folder_is_refused_naming_no_machine_folder()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        var outside = TestPaths.TempDirectory("dcp-outside");
        File.Move(copy.File("__0_0.distcp"), Path.Combine(outside, "__0_0.distcp"));
        File.CreateSymbolicLink(copy.File("__0_0.distcp"), Path.Combine(outside, "__0_0.distcp"));
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, e.Reason);
        Assert.StartsWith($".metadata: tensor '{e.Tensor}': relative_path names '__0_0.distcp', which resolves outside the checkpoint folder", e.Message);
        Assert.DoesNotContain(copy.Path, e.Message);
        Assert.DoesNotContain(outside, e.Message);
    }

    [Fact]
    public void An_absolute_relative_path_is_refused_even_when_the_file_exists()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        var absolute = copy.File("__0_0.distcp");
        copy.MutateDcpStorage(s => s.Info.RelativePath == "__0_0.distcp" ? s with { Info = s.Info with { RelativePath = absolute } } : s);
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, copy.Refusal().Reason);
    }

    [Fact]
    public void A_chunk_outside_the_tensor_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        const string name = "model.layers.0.self_attn.q_proj.weight";
        copy.MutateDcpMetadata(meta => Move(meta, name, from: [48, 0], to: [56, 0]));
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.OffsetOutOfBounds, e.Reason);
        Assert.Equal(name, e.Tensor);
    }

    [Fact]
    public void Overlapping_chunks_are_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.MutateDcpMetadata(meta => Move(meta, "model.layers.0.self_attn.q_proj.weight", from: [16, 0], to: [8, 0]));
        Assert.Equal(FormatErrorReason.OverlappingData, copy.Refusal().Reason);
    }

    [Fact]
    public void Chunks_that_leave_a_hole_are_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        const string name = "model.layers.0.self_attn.q_proj.weight";
        copy.MutateDcpMetadata(meta => meta with
        {
            StateDict = meta.StateDict.Select(kv => kv.Key != name ? kv
                : new KeyValuePair<string, DcpItem>(kv.Key, ((DcpTensorItem)kv.Value) with { Chunks = ((DcpTensorItem)kv.Value).Chunks.Skip(1).ToArray() })).ToArray(),
        });
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
        Assert.Equal("4096", e.Expected);
        Assert.Equal("3072", e.Found);
    }

    [Fact]
    public void A_missing_data_file_is_named()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.Delete("__2_0.distcp");
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("__2_0.distcp", e.File);
    }

    [Fact]
    public void A_truncated_data_file_names_the_file_and_the_missing_bytes()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        var length = new FileInfo(copy.File("__3_0.distcp")).Length;
        copy.Mutate("__3_0.distcp", bytes => bytes[..^1000]);
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.Truncated, e.Reason);
        Assert.Equal("__3_0.distcp", e.File);
        Assert.Equal($"{length - 1000} bytes", e.Found);
    }

    [Fact]
    public void A_payload_that_is_not_a_torch_save_zip_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        var entry = copy.ReadDcpMetadata().StorageData.First(s => s.Fqn == "lm_head.weight");
        copy.Mutate(entry.Info.RelativePath, bytes =>
        {
            Array.Clear(bytes, (int)(entry.Info.Offset + entry.Info.Length - 200), 200); // wipes the zip's central directory and end record
            return bytes;
        });
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.ZipInvalid, e.Reason);
    }

    [Fact]
    public void An_unknown_transform_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.MutateDcpStorage(s => s with { Info = s.Info with { Transforms = ["stream.lz4/1"] } });
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.UnsupportedTransform, e.Reason);
        Assert.Equal("stream.lz4/1", e.Found);
    }

    [Fact]
    public void A_folder_of_distcp_files_without_metadata_is_an_incomplete_save()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.Delete(".metadata");
        Assert.Equal(FormatErrorReason.Incomplete, copy.Refusal().Reason);
    }

    [Fact]
    public void A_metadata_pickle_naming_a_forbidden_global_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.Mutate(".metadata", _ => TestPickler.Dump(new TestPickler.Call(new TestPickler.Global("os", "system"), "echo hi")));
        Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, copy.Refusal().Reason);
    }

    [Fact]
    public void A_metadata_pickle_of_something_else_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.Mutate(".metadata", _ => TestPickler.Dump(new List<object?> { 1L, "x" }));
        Assert.Equal(FormatErrorReason.MetadataInvalid, copy.Refusal().Reason);
    }

    [Fact]
    public void A_chunk_without_storage_data_is_refused()
    {
        using var copy = new MutatedCheckpoint(Fixture);
        copy.MutateDcpMetadata(meta => meta with { StorageData = meta.StorageData.Where(s => s.Fqn != "model.norm.weight" || s.Offset![0] != 32).ToArray() });
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.Equal("model.norm.weight", e.Tensor);
    }

    /// <summary>Moves one chunk of <paramref name="name"/> (and its storage key) from one offset to another.</summary>
    static DcpMetadata Move(DcpMetadata meta, string name, long[] from, long[] to)
    {
        var stateDict = meta.StateDict.Select(kv =>
        {
            if (kv.Key != name) return kv;
            var t = (DcpTensorItem)kv.Value;
            var chunks = t.Chunks.Select(c => c.Offsets.SequenceEqual(from) ? c with { Offsets = to } : c).ToArray();
            return new KeyValuePair<string, DcpItem>(kv.Key, t with { Chunks = chunks });
        }).ToArray();
        var storage = meta.StorageData.Select(s => s.Fqn == name && s.Offset!.SequenceEqual(from) ? s with { Offset = to } : s).ToArray();
        return meta with { StateDict = stateDict, StorageData = storage };
    }
}
