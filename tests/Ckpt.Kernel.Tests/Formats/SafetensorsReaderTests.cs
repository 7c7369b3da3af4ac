using System.Buffers.Binary;
using System.Text;
using Ckpt.Errors;
using Ckpt.Formats.Safetensors;
using Ckpt.Tensors;
using Ckpt.Tests;

namespace Ckpt.Tests.Formats;

public class SafetensorsReaderTests
{
    static string Write(string dir, string name, string header, byte[] data, long? claimedLength = null)
    {
        var bytes = Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(dir, name);
        using var f = File.Create(path);
        Span<byte> n = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)(claimedLength ?? bytes.Length));
        f.Write(n);
        f.Write(bytes);
        f.Write(data);
        return path;
    }

    static CheckpointFormatException OpenFails(string path) =>
        Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());

    [Fact]
    public void Every_tensor_of_the_sharded_llama_is_listed_with_its_shard_and_shape()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var m = ckpt.Manifest;
        Assert.Equal("safetensors", m.Format);
        Assert.Equal("transformers", m.Framework);
        Assert.Equal(4 * 9 + 3, m.Tensors.Count);
        Assert.Equal(250432, m.ParameterCount);
        Assert.Equal(1001728, m.TensorBytes);
        Assert.Equal("1001728", m.Metadata["index.total_size"]);
        Assert.Equal("llama", m.Metadata["config.model_type"]);
        Assert.Equal(7, m.Files.Count);
        var k = m.Find("model.layers.0.self_attn.k_proj.weight")!;
        Assert.Equal([32L, 64L], k.Shape);
        Assert.Equal(DType.F32, k.DType);
        Assert.Single(k.Fragments);
    }

    [Fact]
    public void Inspecting_reads_headers_only_and_no_tensor_bytes()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Equal(0, ckpt.Storage.Statistics.TensorBytesRead);
        Assert.True(ckpt.Storage.Statistics.MetadataBytesRead < 20_000, $"{ckpt.Storage.Statistics.MetadataBytesRead} metadata bytes");
        using var t = ckpt.Read("lm_head.weight");
        Assert.Equal(512 * 64 * 4, ckpt.Storage.Statistics.TensorBytesRead);
    }

    [Fact]
    public void Sharded_tensors_equal_the_consolidated_reference_byte_for_byte()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        using var reference = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors"));
        Assert.Equal(reference.Manifest.Tensors.Select(t => t.Name).Order(), ckpt.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var entry in ckpt.Manifest.Tensors)
        {
            using var a = ckpt.Read(entry.Name);
            using var b = reference.Read(entry.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), entry.Name);
        }
    }

    [Fact]
    public void Every_spec_dtype_is_read_with_its_element_size()
    {
        var dir = TestPaths.TempDirectory("dtypes");
        var codes = new[] { "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64" };
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var c in codes)
        {
            DTypes.TryParseCode(c, out var d);
            long n = 3 * d.Size();
            header.Append($"\"t_{c}\":{{\"dtype\":\"{c}\",\"shape\":[3],\"data_offsets\":[{offset},{offset + n}]}},");
            offset += n;
        }
        header.Length--;
        header.Append('}');
        var data = Enumerable.Range(0, (int)offset).Select(i => (byte)i).ToArray();
        var path = Write(dir, "all.safetensors", header.ToString(), data);
        using var ckpt = Checkpoint.Open(path);
        Assert.Equal(codes.Length, ckpt.Manifest.Tensors.Count);
        long at = 0;
        foreach (var c in codes)
        {
            using var t = ckpt.Read("t_" + c);
            Assert.Equal(c, t.DType.Code());
            Assert.Equal(data.AsSpan((int)at, (int)t.ByteLength).ToArray(), t.ToArray());
            at += t.ByteLength;
        }
    }

    [Fact]
    public void A_truncated_shard_names_the_file_and_the_missing_bytes()
    {
        using var copy = new MutatedCheckpoint("hf-llama-tiny-sharded", withReference: true);
        copy.Mutate("model-00003-of-00006.safetensors", bytes => bytes[..^100]);
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.Truncated, e.Reason);
        Assert.Equal("model-00003-of-00006.safetensors", e.File);
        Assert.Contains("model-00003-of-00006.safetensors", e.Message);
        Assert.NotNull(e.Tensor);
    }

    [Fact]
    public void A_header_length_larger_than_the_file_is_refused()
    {
        var dir = TestPaths.TempDirectory("hdr");
        var e = OpenFails(Write(dir, "x.safetensors", "{}", [], claimedLength: 1000));
        Assert.Equal(FormatErrorReason.Truncated, e.Reason);
        Assert.Contains("header length is larger than the file", e.Message);
    }

    [Fact]
    public void A_header_over_the_100MB_cap_is_refused_before_allocating()
    {
        var dir = TestPaths.TempDirectory("huge");
        var e = OpenFails(Write(dir, "x.safetensors", "{}", [], claimedLength: long.MaxValue));
        Assert.Equal(FormatErrorReason.HeaderTooLarge, e.Reason);
    }

    [Fact]
    public void Overlapping_offsets_name_both_tensors()
    {
        var dir = TestPaths.TempDirectory("overlap");
        var e = OpenFails(Write(dir, "x.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]));
        Assert.Equal(FormatErrorReason.OverlappingData, e.Reason);
        Assert.Equal("b", e.Tensor);
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void A_hole_between_tensors_is_refused()
    {
        var dir = TestPaths.TempDirectory("hole");
        var e = OpenFails(Write(dir, "x.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]));
        Assert.Equal(FormatErrorReason.HoleInData, e.Reason);
    }

    [Fact]
    public void Shape_times_dtype_not_matching_the_byte_length_is_refused()
    {
        var dir = TestPaths.TempDirectory("len");
        var e = OpenFails(Write(dir, "x.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]));
        Assert.Equal(FormatErrorReason.ByteLengthMismatch, e.Reason);
        Assert.Equal("w", e.Tensor);
        Assert.Equal("12 bytes", e.Expected);
        Assert.Equal("8 bytes", e.Found);
    }

    [Fact]
    public void An_overflowing_shape_is_refused()
    {
        var dir = TestPaths.TempDirectory("ovf");
        var e = OpenFails(Write(dir, "x.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", new byte[8]));
        Assert.Equal(FormatErrorReason.InvalidShape, e.Reason);
    }

    [Fact]
    public void An_unknown_dtype_is_named()
    {
        var dir = TestPaths.TempDirectory("dtype");
        var e = OpenFails(Write(dir, "x.safetensors", "{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,2]}}", new byte[2]));
        Assert.Equal(FormatErrorReason.UnknownDType, e.Reason);
        Assert.Equal("F12", e.Found);
    }

    [Fact]
    public void Non_string_metadata_is_refused()
    {
        var dir = TestPaths.TempDirectory("meta");
        var e = OpenFails(Write(dir, "x.safetensors", "{\"__metadata__\":{\"step\":3}}", []));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
    }

    [Fact]
    public void Invalid_utf8_in_the_header_is_refused()
    {
        var dir = TestPaths.TempDirectory("utf8");
        var path = Path.Combine(dir, "x.safetensors");
        File.WriteAllBytes(path, [2, 0, 0, 0, 0, 0, 0, 0, 0xC3, 0x28]);
        Assert.Equal(FormatErrorReason.HeaderInvalid, OpenFails(path).Reason);
    }

    [Fact]
    public void An_empty_file_is_refused_as_empty()
    {
        var dir = TestPaths.TempDirectory("empty");
        var path = Path.Combine(dir, "model.safetensors");
        File.WriteAllBytes(path, []);
        Assert.Equal(FormatErrorReason.EmptyFile, OpenFails(path).Reason);
    }

    [Fact]
    public void An_index_naming_a_missing_shard_names_the_shard()
    {
        using var copy = new MutatedCheckpoint("hf-llama-tiny-sharded", withReference: true);
        copy.Delete("model-00004-of-00006.safetensors");
        var e = copy.Refusal();
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Contains("model-00004-of-00006.safetensors", e.Message);
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../outside.safetensors")]
    public void An_index_naming_a_path_outside_the_folder_is_refused(string shard)
    {
        var dir = TestPaths.TempDirectory("escape");
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            $"{{\"metadata\":{{}},\"weight_map\":{{\"w\":\"{shard}\"}}}}");
        var e = OpenFails(dir);
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, e.Reason);
        Assert.Equal($"model.safetensors.index.json: tensor 'w': weight_map names '{shard}', which resolves outside the checkpoint folder [PathEscapesCheckpoint].", e.Message);
        Assert.DoesNotContain(dir, e.Message);
    }

    [Fact]
    public void A_symlinked_shard_pointing_outside_the_folder_is_refused()
    {
        var dir = TestPaths.TempDirectory("symlink");
        var outside = TestPaths.TempDirectory("outside");
        var target = Path.Combine(outside, "real.safetensors");
        File.Copy(TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors"), target);
        File.CreateSymbolicLink(Path.Combine(dir, "model-00001-of-00001.safetensors"), target);
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            "{\"metadata\":{},\"weight_map\":{\"transformer.wte.weight\":\"model-00001-of-00001.safetensors\"}}");
        var e = OpenFails(dir);
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, e.Reason);
        Assert.StartsWith("model.safetensors.index.json: tensor 'transformer.wte.weight': weight_map names 'model-00001-of-00001.safetensors'", e.Message);
        Assert.DoesNotContain(dir, e.Message);
        Assert.DoesNotContain(outside, e.Message);
    }
}
