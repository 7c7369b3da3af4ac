using System.Text.Json;
using Ckpt.Formats.Safetensors;
using Ckpt.Formats.TorchSave;
using Ckpt.Tensors;

namespace Ckpt.Tests.Formats;

public class TorchSaveWriterTests
{
    /// <summary>Tensors of every dtype torch 1.13 knows, with a 0-d and an empty one, filled with distinct bytes.</summary>
    static TensorSource[] Variety() =>
    [
        Source("f32", DType.F32, [3, 4]), Source("f16", DType.F16, [5]), Source("bf16", DType.BF16, [2, 3]),
        Source("f64", DType.F64, [2, 2]), Source("i64", DType.I64, [3]), Source("i32", DType.I32, [2, 1, 2]),
        Source("i16", DType.I16, [4]), Source("i8", DType.I8, [7]), Source("u8", DType.U8, [300]),
        Source("bool", DType.BOOL, [6]), Source("scalar", DType.F32, []), Source("empty", DType.F32, [0, 3]),
    ];

    static TensorSource Source(string name, DType dtype, long[] shape) => new(name, dtype, shape, () =>
    {
        var t = new TensorData(name, dtype, shape);
        var bytes = t.Bytes;
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + name.Length);
        if (dtype == DType.BOOL) for (int i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        if (dtype is DType.F16 or DType.BF16 or DType.F32 or DType.F64)
            for (int i = dtype.Size() - 1; i < bytes.Length; i += dtype.Size()) bytes[i] &= 0x3F; // finite values
        return t;
    });

    const string LoadScript = """
        import sys, json, torch
        sd = torch.load(sys.argv[1], weights_only=True)
        out = {}
        for k, v in sd.items():
            flat = v.contiguous().reshape(-1)
            raw = flat.view(torch.uint8) if flat.dtype != torch.bool else flat.to(torch.uint8)
            out[k] = {"dtype": str(v.dtype), "shape": list(v.shape), "hex": bytes(raw.tolist()).hex()}
        print(json.dumps({"type": type(sd).__name__, "tensors": out}))
        """;

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Torch_load_with_weights_only_reads_a_written_state_dict_byte_for_byte()
    {
        var dir = TestPaths.TempDirectory("torchsave");
        var path = Path.Combine(dir, "model.pt");
        var sources = Variety();
        TorchSaveWriter.Write(path, sources);

        var (code, stdout, stderr) = PythonTorch.Run(LoadScript, path);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        Assert.Equal("OrderedDict", doc.RootElement.GetProperty("type").GetString());
        var tensors = doc.RootElement.GetProperty("tensors");
        Assert.Equal(sources.Select(s => s.Name), tensors.EnumerateObject().Select(p => p.Name));
        foreach (var s in sources)
        {
            var t = tensors.GetProperty(s.Name);
            Assert.Equal("torch." + s.DType.TorchName(), t.GetProperty("dtype").GetString());
            Assert.Equal(s.Shape, t.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
            using var data = s.Load();
            Assert.Equal(Convert.ToHexStringLower(data.Bytes), t.GetProperty("hex").GetString());
        }
    }

    [Fact]
    public void Storage_records_start_on_64_byte_boundaries_and_the_folder_is_the_file_stem()
    {
        var dir = TestPaths.TempDirectory("torchsave-align");
        var path = Path.Combine(dir, "weights.pt");
        TorchSaveWriter.Write(path, Variety());
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        Assert.All(zip.Entries, e => Assert.StartsWith("weights/", e.FullName));
        Assert.Contains(zip.Entries, e => e.FullName == "weights/data.pkl");
        Assert.Equal("little", new StreamReader(zip.GetEntry("weights/byteorder")!.Open()).ReadToEnd());
        Assert.Equal("3\n", new StreamReader(zip.GetEntry("weights/version")!.Open()).ReadToEnd());
        var bytes = File.ReadAllBytes(path);
        int records = 0;
        for (int at = 0; at + 30 <= bytes.Length && BitConverter.ToUInt32(bytes, at) == 0x04034b50; records++)
        {
            int size = BitConverter.ToInt32(bytes, at + 18), nameLen = BitConverter.ToUInt16(bytes, at + 26), extraLen = BitConverter.ToUInt16(bytes, at + 28);
            int data = at + 30 + nameLen + extraLen;
            Assert.Equal(0, data % 64);
            at = data + size;
        }
        Assert.Equal(zip.Entries.Count, records);
    }
}
