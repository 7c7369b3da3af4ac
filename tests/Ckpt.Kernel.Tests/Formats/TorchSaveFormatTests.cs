using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Pickle;

namespace Ckpt.Tests.Formats;

public class TorchSaveFormatTests
{
    static string TorchSave(string name) => TestPaths.Fixture("torch-save", name);

    [Fact]
    public void Every_tensor_of_variety_reads_byte_for_byte_as_the_reference_and_matches_its_layout()
    {
        using var ckpt = Checkpoint.Open(TorchSave("variety.pt"));
        using var reference = Checkpoint.Open(TorchSave("variety.reference.safetensors"));
        using var meta = JsonDocument.Parse(File.ReadAllBytes(TorchSave("variety.meta.json")));
        Assert.Equal("torch.save", ckpt.Manifest.Format);
        var names = meta.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(names.Order(), ckpt.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var p in meta.RootElement.EnumerateObject())
        {
            var entry = ckpt.GetEntry(p.Name);
            var fragment = Assert.Single(entry.Fragments);
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), entry.Shape);
            Assert.Equal(p.Value.GetProperty("stride").EnumerateArray().Select(x => x.GetInt64()), fragment.Strides);
            Assert.Equal(p.Value.GetProperty("storage_offset").GetInt64(), fragment.StorageOffset);
            Assert.Equal(p.Value.GetProperty("dtype").GetString(), Ckpt.Tensors.DTypes.TorchName(entry.DType));
            using var data = ckpt.Read(p.Name);
            using var expected = reference.Read(p.Name);
            Assert.Equal(expected.DType, data.DType);
            Assert.Equal(expected.ToArray(), data.ToArray());
        }
    }

    [Fact]
    public void Views_of_one_storage_point_at_the_same_bytes()
    {
        using var ckpt = Checkpoint.Open(TorchSave("variety.pt"));
        var payloads = new[] { "base", "view_t", "slice", "row" }.Select(n => ckpt.GetEntry(n).Fragments[0].Payload).Distinct().ToArray();
        Assert.Single(payloads);
    }

    [Theory]
    [InlineData("variety.pt")]
    [InlineData("nested.pt")]
    [InlineData("legacy.pt")]
    public void Inspecting_a_torch_save_file_reads_no_tensor_bytes(string file)
    {
        using var ckpt = Checkpoint.Open(TorchSave(file));
        Assert.NotEmpty(ckpt.Manifest.Tensors);
        Assert.Equal(0, ckpt.Storage.Statistics.TensorBytesRead);
        Assert.True(ckpt.Storage.Statistics.MetadataBytesRead > 0);
    }

    [Fact]
    public void A_training_dict_flattens_to_dotted_names_with_its_values()
    {
        using var ckpt = Checkpoint.Open(TorchSave("nested.pt"));
        using var variety = Checkpoint.Open(TorchSave("variety.reference.safetensors"));
        var m = ckpt.Manifest;
        foreach (var t in variety.Manifest.Tensors)
        {
            using var a = ckpt.Read("model." + t.Name);
            using var b = variety.Read(t.Name);
            Assert.Equal(b.ToArray(), a.ToArray());
        }
        Assert.Equal([10f], ckpt.Read("optimizer.state.0.step").ToFloats());
        Assert.Equal([1f, 1f, 1f], ckpt.Read("optimizer.state.0.exp_avg").ToFloats());
        Assert.Equal([0f, 0f], ckpt.Read("lst.0").ToFloats());
        Assert.DoesNotContain(m.Tensors, t => !t.Name.StartsWith("model.") && t.Name is not ("optimizer.state.0.step" or "optimizer.state.0.exp_avg" or "lst.0"));

        object? Value(string name) => Assert.Single(m.Objects, o => o.Name == name).Value;
        Assert.Equal(3L, Value("epoch"));
        Assert.Equal("variety", Value("name"));
        Assert.Equal(0.001, Value("optimizer.param_groups.0.lr"));
        Assert.Equal(new PyTuple([0.9, 0.999]), Value("optimizer.param_groups.0.betas"));
        Assert.Equal([0L], Assert.IsType<PyList>(Value("optimizer.param_groups.0.params")));
        Assert.Equal(5L, Value("lst.1"));
        Assert.Equal("x", Value("lst.2"));
        Assert.Equal("int", m.Objects.Single(o => o.Name == "epoch").Kind);
    }

    [Fact]
    public void The_legacy_format_loads_its_structure_and_values()
    {
        using var ckpt = Checkpoint.Open(TorchSave("legacy.pt"));
        Assert.Equal("torch.save-legacy", ckpt.Manifest.Format);
        Assert.Equal(["a", "b"], ckpt.Manifest.Tensors.Select(t => t.Name));
        Assert.Equal([3L, 3L], ckpt.GetEntry("a").Shape);
        Assert.Equal(Ckpt.Tensors.DType.I64, ckpt.GetEntry("b").DType);
        // torch.load (1.13) of legacy.pt printed these values.
        var a = new[] { -0.21902281045913696, 2.057591199874878, -0.03542188182473183, 0.06271883100271225, -0.7663062810897827,
            1.0992505550384521, 2.7565383911132812, 0.17528332769870758, -0.9315211176872253 };
        Assert.Equal(a.Select(x => (float)x), ckpt.Read("a").ToFloats());
        Assert.Equal([0.0, 1.0, 2.0, 3.0], ckpt.Read("b").ToDoubles());
    }

    [Fact]
    public void A_truncated_legacy_file_names_the_missing_bytes()
    {
        var dir = TestPaths.TempDirectory("legacy-cut");
        var bytes = File.ReadAllBytes(TorchSave("legacy.pt"));
        File.WriteAllBytes(Path.Combine(dir, "cut.pt"), bytes[..^10]);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(dir, "cut.pt")));
        Assert.Equal(FormatErrorReason.Truncated, e.Reason);
        File.WriteAllBytes(Path.Combine(dir, "cut2.pt"), bytes[..200]);
        e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(dir, "cut2.pt")));
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
    }

    [Fact]
    public void A_legacy_file_whose_pickle_is_larger_than_the_first_read_window_still_loads()
    {
        var dir = TestPaths.TempDirectory("legacy-big");
        var bytes = File.ReadAllBytes(TorchSave("legacy.pt"));
        // Keep the magic, protocol and sys_info pickles (they end at the second STOP after 0x8a...), then a 1.3 MB dict, no storages.
        int sysInfoEnd = IndexOf(bytes, "uu."u8.ToArray()) + 3;
        var big = new List<byte> { 0x80, 2, (byte)'}' };
        for (int i = 0; i < 100_000; i++)
        {
            // SETITEMS in batches of 1000, as pickle itself writes them.
            if (i % 1000 == 0) big.Add((byte)'(');
            big.AddRange(ShortBin($"k{i:D6}"));
            big.AddRange([(byte)'J', .. BitConverter.GetBytes(i)]);
            if (i % 1000 == 999) big.Add((byte)'u');
        }
        big.AddRange([(byte)'.', 0x80, 2, (byte)']', (byte)'.']);
        File.WriteAllBytes(Path.Combine(dir, "big.pt"), [.. bytes[..sysInfoEnd], .. big]);
        using var ckpt = Checkpoint.Open(Path.Combine(dir, "big.pt"));
        Assert.Equal(100_000, ckpt.Manifest.Objects.Count);
        Assert.Equal(99_999L, ckpt.Manifest.Objects.Single(o => o.Name == "k099999").Value);
    }

    [Fact]
    public void A_torch_save_zip_embedded_at_an_offset_gives_fragments_into_the_outer_file()
    {
        var dir = TestPaths.TempDirectory("embedded");
        var zip = File.ReadAllBytes(TorchSave("variety.pt"));
        File.WriteAllBytes(Path.Combine(dir, "__0_0.distcp"), [.. new byte[4096], .. zip, .. new byte[100]]);
        using var storage = new Ckpt.Storage.LocalStorage(dir);
        var archive = Ckpt.Formats.TorchSave.TorchSaveArchive.Open(storage, "__0_0.distcp", 4096, zip.Length);
        var tensor = Assert.IsType<TorchTensor>(Assert.IsType<PyDict>(archive.Root)["slice"]);
        var fragment = Ckpt.Formats.TorchSave.TorchStorageLocators.ToFragment(archive, tensor, "slice");
        Assert.Equal("__0_0.distcp", fragment.Payload.File);
        var entry = new Ckpt.Manifest.TensorEntry("slice", tensor.Storage.DType, tensor.Shape, [fragment]);
        using var data = Ckpt.Planning.TensorReader.Read(storage, entry);
        using var reference = Checkpoint.Open(TorchSave("variety.reference.safetensors"));
        Assert.Equal(reference.Read("slice").ToArray(), data.ToArray());
    }

    [Fact]
    public void Sharded_bin_weights_read_the_same_bytes_as_the_safetensors_copy()
    {
        using var bin = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-bin"));
        using var st = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Equal("torch.save-sharded", bin.Manifest.Format);
        Assert.Equal("transformers", bin.Manifest.Framework);
        Assert.Equal(3, bin.Manifest.Files.Count);
        Assert.Equal(0, bin.Storage.Statistics.TensorBytesRead);
        Assert.Equal(st.Manifest.Tensors.Select(t => t.Name).Order(), bin.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var t in st.Manifest.Tensors)
        {
            using var a = bin.Read(t.Name);
            using var b = st.Read(t.Name);
            Assert.Equal(b.DType, a.DType);
            Assert.Equal(b.Shape, a.Shape);
            Assert.Equal(b.ToArray(), a.ToArray());
        }
    }

    [Fact]
    public void One_shard_opened_alone_is_a_torch_save_file_of_transformers()
    {
        var shard = Directory.GetFiles(TestPaths.Fixture("hf-llama-tiny-bin"), "pytorch_model-00001-*.bin").Single();
        using var ckpt = Checkpoint.Open(shard);
        Assert.Equal("torch.save", ckpt.Manifest.Format);
        Assert.Equal("transformers", ckpt.Manifest.Framework);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "Popen")]
    public void A_torch_save_zip_whose_pickle_names_a_dangerous_global_is_refused(string module, string name)
    {
        var dir = TestPaths.TempDirectory("hostile");
        var marker = Path.Combine(dir, "pwned");
        byte[] pickle = [.. new byte[] { 0x80, 2 }, .. Encoding.ASCII.GetBytes($"c{module}\n{name}\n"), .. ShortBin($"touch {marker}"), 0x85, (byte)'R', (byte)'.'];
        WriteZip(Path.Combine(dir, "evil.pt"), ("archive/data.pkl", pickle), ("archive/version", "3\n"u8.ToArray()));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(dir, "evil.pt")));
        Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, e.Reason);
        Assert.Contains($"{module}.{name}", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void An_unknown_class_in_a_torch_save_pickle_is_kept_as_inert_data()
    {
        var dir = TestPaths.TempDirectory("inert");
        // {'cfg': mymodule.Config(), 'n': 1} with BUILD state {'depth': 4}
        byte[] pickle = [0x80, 2, (byte)'}', (byte)'(', .. ShortBin("cfg"), .. Encoding.ASCII.GetBytes("cmymodule\nConfig\n"), (byte)')', 0x81,
            (byte)'}', .. ShortBin("depth"), (byte)'K', 4, (byte)'s', (byte)'b', .. ShortBin("n"), (byte)'K', 1, (byte)'u', (byte)'.'];
        WriteZip(Path.Combine(dir, "cfg.pt"), ("archive/data.pkl", pickle));
        using var ckpt = Checkpoint.Open(Path.Combine(dir, "cfg.pt"));
        var cfg = Assert.IsType<PyObject>(ckpt.Manifest.Objects.Single(o => o.Name == "cfg").Value);
        Assert.Equal("mymodule.Config", cfg.Class.FullName);
        Assert.Equal(4L, cfg.Attribute("depth"));
        Assert.Equal("mymodule.Config", ckpt.Manifest.Objects.Single(o => o.Name == "cfg").Kind);
    }

    [Fact]
    public void A_self_referencing_list_is_kept_as_one_value_and_described_boundedly()
    {
        var dir = TestPaths.TempDirectory("cyclic");
        // {'loop': l} where l = [l, l]
        byte[] pickle = [0x80, 2, (byte)'}', .. ShortBin("loop"), (byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'h', 0, (byte)'a', (byte)'s', (byte)'.'];
        WriteZip(Path.Combine(dir, "cyclic.pt"), ("archive/data.pkl", pickle));
        using var ckpt = Checkpoint.Open(Path.Combine(dir, "cyclic.pt"));
        var loop = Assert.IsType<PyList>(Assert.Single(ckpt.Manifest.Objects).Value);
        Assert.Same(loop, loop[0]);
        Assert.True(Ckpt.Manifest.ManifestJson.Describe(loop, 10_000).Length < 5000);
    }

    [Fact]
    public void A_storage_member_shorter_than_its_elements_is_a_byte_length_mismatch()
    {
        var dir = TestPaths.TempDirectory("short-storage");
        var members = ReadMembers(TorchSave("variety.pt"));
        members["variety/data/0"] = members["variety/data/0"][..8];
        WriteZip(Path.Combine(dir, "short.pt"), members.Select(kv => (kv.Key, kv.Value)).ToArray());
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(dir, "short.pt")));
        Assert.Equal(FormatErrorReason.ByteLengthMismatch, e.Reason);
    }

    [Fact]
    public void Deflated_storage_members_read_as_the_stored_ones()
    {
        // What a general zip library (TorchSharp.PyBridge's save_py) writes and torch.load inflates.
        var dir = TestPaths.TempDirectory("deflated-storage");
        var members = ReadMembers(TorchSave("variety.pt"));
        WriteZip(Path.Combine(dir, "deflated.pt"), CompressionLevel.Optimal, members.Select(kv => (kv.Key, kv.Value)).ToArray());
        using var stored = Checkpoint.Open(TorchSave("variety.pt"));
        using var deflated = Checkpoint.Open(Path.Combine(dir, "deflated.pt"));
        Assert.Equal(stored.Manifest.Tensors.Select(t => t.Name), deflated.Manifest.Tensors.Select(t => t.Name));
        foreach (var t in stored.Manifest.Tensors)
        {
            using var a = stored.Read(t.Name);
            using var b = deflated.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
    }

    [Fact]
    public void A_deflated_storage_that_fails_its_crc_is_a_checksum_mismatch()
    {
        var dir = TestPaths.TempDirectory("deflated-crc");
        var members = ReadMembers(TorchSave("variety.pt"));
        WriteZip(Path.Combine(dir, "deflated.pt"), CompressionLevel.Optimal, members.Select(kv => (kv.Key, kv.Value)).ToArray());
        // Every storage's CRC-32 in the central directory (offset 16 of its record) no longer matches its inflated bytes.
        var path = Path.Combine(dir, "deflated.pt");
        var bytes = File.ReadAllBytes(path);
        for (int at = 0; at + 46 < bytes.Length; at++)
            if (bytes[at] == 0x50 && bytes[at + 1] == 0x4b && bytes[at + 2] == 1 && bytes[at + 3] == 2
                && Encoding.ASCII.GetString(bytes, at + 46, BitConverter.ToUInt16(bytes, at + 28)).StartsWith("variety/data/", StringComparison.Ordinal))
                bytes[at + 16] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        using var ckpt = Checkpoint.Open(path);
        var t = ckpt.Manifest.Tensors[0];
        Assert.StartsWith("zip.deflate/", t.Fragments[0].Payload.Transforms![0]);
        var e = Assert.Throws<CheckpointFormatException>(() => ckpt.Read(t.Name).Dispose());
        Assert.Equal(FormatErrorReason.ChecksumMismatch, e.Reason);
    }

    [Fact]
    public void A_tensor_reaching_past_its_storage_is_out_of_bounds()
    {
        var dir = TestPaths.TempDirectory("oob");
        var members = ReadMembers(TorchSave("variety.pt"));
        var pkl = members["variety/data.pkl"];
        // 'row' is base[2]: storage_offset 12 (BININT1 12 right after its BINPERSID); 24 pushes it past the 24-element storage.
        int at = IndexOf(pkl, [(byte)'Q', (byte)'K', 12]);
        Assert.True(at > 0);
        pkl[at + 2] = 24;
        WriteZip(Path.Combine(dir, "oob.pt"), members.Select(kv => (kv.Key, kv.Value)).ToArray());
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(dir, "oob.pt")));
        Assert.Equal(FormatErrorReason.OffsetOutOfBounds, e.Reason);
        Assert.Equal("row", e.Tensor);
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }

    static Dictionary<string, byte[]> ReadMembers(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        });
    }

    static void WriteZip(string path, params (string Name, byte[] Data)[] entries) => WriteZip(path, CompressionLevel.NoCompression, entries);

    static void WriteZip(string path, CompressionLevel level, params (string Name, byte[] Data)[] entries)
    {
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            using var s = archive.CreateEntry(name, level).Open();
            s.Write(data);
        }
    }

    static byte[] ShortBin(string s) { var b = Encoding.UTF8.GetBytes(s); return [(byte)'X', (byte)b.Length, 0, 0, 0, .. b]; }
}
